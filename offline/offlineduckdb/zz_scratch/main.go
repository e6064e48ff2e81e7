package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		panic(err)
	}
	for _, q := range strings.Split(os.Args[1], ";;") {
		fmt.Println("==>", strings.TrimSpace(q))
		rows, err := db.Query(q)
		if err != nil {
			fmt.Println("ERR:", err)
			continue
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for _, v := range vals {
				fmt.Printf("%v | ", v)
			}
			fmt.Println()
		}
		if err := rows.Err(); err != nil {
			fmt.Println("ERR:", err)
		}
		rows.Close()
	}
}
