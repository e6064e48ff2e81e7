package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/client"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/platform"
)

// ServerFile is the file in the data directory where a running 'slipway
// serve' writes its address and process id, so that commands on the same
// data directory go through it instead of opening the stores it holds.
const ServerFile = "server.json"

// serverInfo is ServerFile's content.
type serverInfo struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

// how says how a command opens the stores when it works on them directly.
type how struct {
	// create allows a data directory that does not exist yet.
	create bool
	// readOnly opens them for plan (platform.Options.ReadOnly).
	readOnly bool
	// lazy leaves the registry closed until an operation needs it (doctor
	// reports a registry that does not open instead of failing).
	lazy bool
	// wrapOnline wraps the online store (platform.Options.WrapOnline).
	wrapOnline func(online.Store) online.Store
}

// connect returns what a command works through: the server --server names,
// else the server holding the data directory (ServerFile, with a live
// process), else the stores themselves.
func (a *app) connect(ctx context.Context, h how) (platform.API, error) {
	url, err := a.serverURL(ctx)
	if err != nil {
		return nil, err
	}
	if url != "" {
		c, err := client.New(url)
		if err != nil {
			return nil, fmt.Errorf("--server %s: %w", url, err)
		}
		return c, nil
	}
	return a.openLocal(ctx, h)
}

// openLocal opens the configured stores in this process.
func (a *app) openLocal(ctx context.Context, h how) (*platform.Platform, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	p, err := platform.Open(ctx, platform.Options{
		DataDir: a.dataDir, DataDirHint: "--data-dir (env " + DataDirEnv + ")",
		Config: cfg, Backends: a.backends, Logger: a.log, Create: h.create, ReadOnly: h.readOnly, WrapOnline: h.wrapOnline,
	})
	if err != nil {
		return nil, err
	}
	if !h.readOnly && !h.lazy {
		// As every command did: jobs whose process died are recovered first.
		if _, err := p.Registry(ctx); err != nil {
			p.Close()
			return nil, err
		}
		a.sayRecovered(p)
	}
	return p, nil
}

// serverURL is the URL of the server to go through, or "" to open the
// stores here.
func (a *app) serverURL(ctx context.Context) (string, error) {
	if a.server != "" {
		return a.server, nil
	}
	info, err := readServerFile(a.dataDir)
	if err != nil || info == nil {
		return "", err
	}
	// The process may still be starting or stopping: ask it.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, info.URL+"/healthz", nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return info.URL, nil
			}
			err = fmt.Errorf("/healthz answered %s", resp.Status)
		}
	}
	return "", fmt.Errorf("a slipway server (pid %d) holds the data directory %s at %s, but it does not answer (%v); wait for it, stop it, or remove %s if that process is not slipway",
		info.PID, a.dataDir, info.URL, err, filepath.Join(a.dataDir, ServerFile))
}

// readServerFile returns the server recorded in a data directory, or nil
// when there is none or its process is gone (a stale file, left by a
// server that was killed).
func readServerFile(dataDir string) (*serverInfo, error) {
	path := filepath.Join(dataDir, ServerFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var info serverInfo
	if err := json.Unmarshal(b, &info); err != nil || info.URL == "" || info.PID <= 0 {
		return nil, nil // half-written or foreign: not a live server's
	}
	if !alive(info.PID) {
		return nil, nil
	}
	return &info, nil
}

// alive says whether a process exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// writeServerFile records a server listening on addr in the data
// directory, when it exists (a configuration with no embedded store may
// have none), and returns the function that removes it.
func writeServerFile(dataDir string, addr net.Addr) (remove func(), err error) {
	if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
		return func() {}, nil
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // listening everywhere: this machine reaches it on loopback
	}
	info := serverInfo{URL: "http://" + net.JoinHostPort(host, port), PID: os.Getpid()}
	b, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, ServerFile)
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return func() {
		// Only our own: another server may have taken the directory since.
		if cur, _ := os.ReadFile(path); string(cur) == string(b)+"\n" {
			os.Remove(path)
		}
	}, nil
}
