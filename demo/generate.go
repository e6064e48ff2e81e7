package demo

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Sizes at scale 1.
const (
	shopsPerScale       = 60
	subscribersPerScale = 6000
)

const (
	second = int64(time.Second / time.Microsecond)
	minute = 60 * second
	hour   = 60 * minute
	day    = 24 * hour
)

type category struct {
	name   string
	suffix string  // ends shop names: "Candle Co."
	price  float64 // typical order value
}

// The first category is candles: shop 1 is always the seed's candle shop.
var categories = []category{
	{"candles", "Candle Co.", 32},
	{"ceramics", "Pottery", 48},
	{"soap", "Soapworks", 18},
	{"jewelry", "Jewelry", 65},
	{"tea", "Tea House", 24},
	{"plants", "Plant Shop", 38},
	{"stationery", "Paper Goods", 21},
}

var (
	shopWords1 = []string{"Amber", "Juniper", "Willow", "Cedar", "Hollow", "Maple", "Lantern", "Saffron", "Fern", "Harbor", "Ember", "Copper", "Meadow", "Birch", "Honey", "Moss"}
	shopWords2 = []string{"Lane", "Grove", "Wick", "Field", "House", "Creek", "Hill", "Row", "Works", "Nook", "Yard", "Bay"}
	plans      = []weighted{{"free", 5}, {"starter", 3}, {"pro", 2}}
	countries  = []weighted{{"US", 5}, {"CA", 1.5}, {"GB", 1.5}, {"DE", 1}, {"AU", 1}}
	regions    = map[string][]string{
		"US": {"us-northeast", "us-south", "us-midwest", "us-west"},
		"CA": {"ca-east", "ca-west"},
		"GB": {"uk"},
		"DE": {"de"},
		"AU": {"au"},
	}
	allRegions = []string{"us-northeast", "us-south", "us-midwest", "us-west", "ca-east", "ca-west", "uk", "de", "au"}
)

type weighted struct {
	name   string
	weight float64
}

// Signup channels, with how much more likely than average such a subscriber buys.
var channels = []struct {
	name     string
	weight   float64
	purchase float64
}{
	{"checkout", 3, 1.6},
	{"popup", 2.5, 0.8},
	{"instagram", 1.5, 0.6},
	{"in_store", 1, 1.3},
	{"referral", 1, 1.2},
	{"giveaway", 1, 0.4},
}

// Campaign kinds and how they move opens and purchases.
const (
	kindNewsletter = iota
	kindPromo
	kindHoliday
)

var kinds = []struct {
	name     string
	open     float64
	purchase float64
}{
	{"newsletter", 0.9, 0.8},
	{"promo", 1.0, 1.3},
	{"holiday", 1.15, 1.8},
}

// Email event types, in the order they happen for one send.
const (
	eventSent = iota
	eventOpen
	eventClick
	eventUnsubscribe
)

var eventNames = []string{"sent", "open", "click", "unsubscribe"}

type generator struct {
	opts       Options
	rng        *rand.Rand
	start, end int64 // event time bounds in Unix microseconds

	shops, subscribers, campaigns, events, orders *csvFile

	nextSubscriber, nextCampaign, nextOrder int

	// sample is the subscriber with the most opens in the last 30 days.
	sample Sample
}

type shop struct {
	id       int
	category category
	country  string
	cadence  float64 // regular campaigns per week
	sendHour int     // UTC hour campaigns usually go out
}

type subscriber struct {
	id         int
	channel    int // index into channels
	signedUp   int64
	engagement float64 // 0..1: drives opens, clicks and purchases
	open       float64 // probability of opening a campaign
	click      float64 // probability of clicking an opened campaign
	propensity float64 // purchase rate multiplier, mean about 1
	basket     float64 // order value multiplier, mean about 1
}

type campaign struct {
	id         int
	name       string
	kind       int
	sentAt     int64
	recipients int
}

type event struct {
	t        int64
	sub      int
	campaign int
	typ      int
}

type order struct {
	t        int64
	sub      int
	campaign int // 0: not attributed to a campaign
	amount   float64
}

func (g *generator) run(ctx context.Context) error {
	nShops := max(1, int(math.Round(shopsPerScale*g.opts.Scale)))
	nSubs := max(nShops, int(math.Round(subscribersPerScale*g.opts.Scale)))

	// Shop sizes are skewed (a few big shops, many small ones) but add up to
	// nSubs exactly, so row counts follow the scale closely.
	weights := make([]float64, nShops)
	var total float64
	for i := range weights {
		weights[i] = math.Exp(0.7 * g.rng.NormFloat64())
		total += weights[i]
	}
	var cum float64
	prev := 0
	for i := range nShops {
		if err := ctx.Err(); err != nil {
			return err
		}
		cum += weights[i]
		upto := int(math.Round(float64(nSubs) * cum / total))
		if i == nShops-1 {
			upto = nSubs
		}
		g.shop(i+1, max(0, upto-prev))
		prev = max(prev, upto)
	}
	return nil
}

// shop generates one shop with its subscribers, campaigns, events and orders.
func (g *generator) shop(id, nSubs int) {
	r := g.rng
	s := shop{
		id:       id,
		category: categories[0],
		country:  pick(r, countries),
		cadence:  1 + 1.8*r.Float64(),
		sendHour: 8 + r.IntN(11),
	}
	if id > 1 {
		s.category = categories[r.IntN(len(categories))]
	}
	name := shopWords1[r.IntN(len(shopWords1))] + " " + shopWords2[r.IntN(len(shopWords2))] + " " + s.category.suffix
	created := g.start - int64(60+r.IntN(1500))*day - r.Int64N(day)
	b := g.shops.row()
	b = appendID(b, "shop_", id)
	b = append(b, ',')
	b = append(b, name...)
	b = append(b, ',')
	b = append(b, s.category.name...)
	b = append(b, ',')
	b = append(b, s.country...)
	b = append(b, ',')
	b = append(b, pick(r, plans)...)
	b = append(b, ',')
	b = appendTime(b, created)
	g.shops.end(b)

	subs := make([]subscriber, nSubs)
	for i := range subs {
		subs[i] = g.subscriber(&s, created)
	}
	camps := g.schedule(&s)

	var events []event
	var orders []order
	var mine []order // the current subscriber's orders
	for i := range subs {
		sub := &subs[i]
		mine = g.organicOrders(sub, s.category.price, mine[:0])
		unsubscribed := false
		for c := range camps {
			camp := &camps[c]
			// Sends go out in subscriber order, a few milliseconds apart.
			sent := camp.sentAt + int64(i)*15_000 + r.Int64N(15_000)
			if sent <= sub.signedUp || sent >= g.end {
				continue
			}
			if unsubscribed {
				break
			}
			camp.recipients++
			events = append(events, event{sent, sub.id, camp.id, eventSent})
			k := kinds[camp.kind]

			opened := r.Float64() < sub.open*k.open
			clicked := opened && r.Float64() < sub.click
			seen := sent // when the subscriber last touched this email
			if opened {
				seen += int64(math.Min(6*float64(day), float64(5400*second)*math.Exp(1.3*r.NormFloat64())))
				events = append(events, event{seen, sub.id, camp.id, eventOpen})
			}
			if clicked {
				seen += 5*second + int64(r.ExpFloat64()*float64(2*minute))
				events = append(events, event{seen, sub.id, camp.id, eventClick})
			}
			if r.Float64() < 0.001+0.006*(1-sub.engagement) {
				if !opened {
					seen += int64(r.ExpFloat64() * float64(12*hour))
				}
				events = append(events, event{seen + 10*second + r.Int64N(minute), sub.id, camp.id, eventUnsubscribe})
				unsubscribed = true
			}

			p := 0.018 * sub.propensity * k.purchase
			if opened {
				p *= 3
			}
			if clicked {
				p *= 2.5
			}
			if recentOrder(mine, sent-30*day, sent) {
				p *= 1.8
			}
			if r.Float64() < math.Min(p, 0.9) {
				var at int64
				attributed := 0
				if clicked && r.Float64() < 0.6 {
					at = seen + int64(r.ExpFloat64()*float64(3*hour))
					attributed = camp.id
				} else {
					u := r.Float64()
					at = sent + minute + int64(u*u*float64(7*day))
				}
				at = min(at, sent+7*day-second)
				amount := sub.basket * s.category.price * math.Exp(0.3*r.NormFloat64())
				if camp.kind == kindPromo {
					amount *= 0.85
				}
				mine = append(mine, order{at, sub.id, attributed, amount})
			}
		}
		for _, o := range mine {
			if o.t < g.end {
				orders = append(orders, o)
			}
		}
	}

	for _, sub := range subs {
		b := g.subscribers.row()
		b = appendID(b, "sub_", sub.id)
		b = append(b, ',')
		b = appendID(b, "shop_", s.id)
		b = append(b, ',')
		b = append(b, g.region(&s)...)
		b = append(b, ',')
		b = append(b, channels[sub.channel].name...)
		b = append(b, ',')
		b = appendTime(b, sub.signedUp)
		g.subscribers.end(b)
	}
	for _, c := range camps {
		b := g.campaigns.row()
		b = appendID(b, "cmp_", c.id)
		b = append(b, ',')
		b = appendID(b, "shop_", s.id)
		b = append(b, ',')
		b = append(b, c.name...)
		b = append(b, ',')
		b = append(b, kinds[c.kind].name...)
		b = append(b, ',')
		b = appendTime(b, c.sentAt)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(c.recipients), 10)
		g.campaigns.end(b)
	}

	slices.SortFunc(events, func(a, b event) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.sub, b.sub), cmp.Compare(a.typ, b.typ), cmp.Compare(a.campaign, b.campaign))
	})
	recent := map[int]*Sample{} // opens and clicks per subscriber in the last 30 days
	for _, e := range events {
		if e.t >= g.end {
			continue
		}
		if e.t >= g.end-SampleWindowDays*day && (e.typ == eventOpen || e.typ == eventClick) {
			r := recent[e.sub]
			if r == nil {
				r = &Sample{Subscriber: "sub_" + strconv.Itoa(e.sub)}
				recent[e.sub] = r
			}
			if e.typ == eventOpen {
				r.Opens++
			} else {
				r.Clicks++
			}
		}
		b := g.events.row()
		b = appendID(b, "sub_", e.sub)
		b = append(b, ',')
		b = appendID(b, "shop_", s.id)
		b = append(b, ',')
		b = appendID(b, "cmp_", e.campaign)
		b = append(b, ',')
		b = append(b, eventNames[e.typ]...)
		b = append(b, ',')
		b = appendTime(b, e.t)
		g.events.end(b)
	}

	for _, sub := range subs { // in id order, so ties go to the lowest id
		if r := recent[sub.id]; r != nil && r.Opens > g.sample.Opens {
			g.sample = *r
		}
	}

	slices.SortFunc(orders, func(a, b order) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.sub, b.sub))
	})
	for _, o := range orders {
		g.nextOrder++
		b := g.orders.row()
		b = appendID(b, "ord_", g.nextOrder)
		b = append(b, ',')
		b = appendID(b, "sub_", o.sub)
		b = append(b, ',')
		b = appendID(b, "shop_", s.id)
		b = append(b, ',')
		if o.campaign != 0 {
			b = appendID(b, "cmp_", o.campaign)
		}
		b = append(b, ',')
		b = appendTime(b, o.t)
		b = append(b, ',')
		b = strconv.AppendFloat(b, math.Max(2, math.Round(o.amount*100)/100), 'f', 2, 64)
		g.orders.end(b)
	}
}

// subscriber draws one subscriber's hidden traits.
func (g *generator) subscriber(s *shop, shopCreated int64) subscriber {
	r := g.rng
	g.nextSubscriber++
	sub := subscriber{id: g.nextSubscriber}
	if r.Float64() < 0.75 {
		sub.signedUp = max(shopCreated+day, g.start-r.Int64N(730*day))
	} else {
		sub.signedUp = g.start + r.Int64N(g.end-g.start)
	}
	ch := pickIndex(r, len(channels), func(i int) float64 { return channels[i].weight })
	sub.engagement = math.Pow(r.Float64(), 1.3)
	sub.open = 0.03 + 0.55*sub.engagement
	sub.click = 0.04 + 0.35*sub.engagement*r.Float64()
	z := r.NormFloat64()
	sub.propensity = math.Exp(0.7*z-0.245) * channels[ch].purchase * (0.4 + 1.2*sub.engagement)
	sub.basket = math.Exp(0.35*(0.4*z+0.9*r.NormFloat64()) - 0.06)
	sub.channel = ch
	return sub
}

// region picks a subscriber's region, mostly in the shop's country.
func (g *generator) region(s *shop) string {
	if g.rng.Float64() < 0.15 {
		return allRegions[g.rng.IntN(len(allRegions))]
	}
	rs := regions[s.country]
	return rs[g.rng.IntN(len(rs))]
}

// organicOrders appends the orders a subscriber places without a campaign.
func (g *generator) organicOrders(sub *subscriber, price float64, out []order) []order {
	r := g.rng
	rate := sub.propensity * 0.0025 / float64(day) // orders per microsecond
	t := max(sub.signedUp, g.start)
	for {
		t += int64(r.ExpFloat64() / rate)
		if t >= g.end || t < 0 {
			return out
		}
		amount := sub.basket * price * 0.9 * math.Exp(0.3*r.NormFloat64())
		out = append(out, order{t, sub.id, 0, amount})
	}
}

func recentOrder(orders []order, from, to int64) bool {
	for _, o := range orders {
		if o.t >= from && o.t < to {
			return true
		}
	}
	return false
}

// schedule plans a shop's campaigns: regular newsletters and promotions at the
// shop's cadence, plus a campaign a few days before each holiday.
func (g *generator) schedule(s *shop) []campaign {
	r := g.rng
	days := g.opts.Days
	kind := make([]int, days)
	holiday := make([]string, days)
	for d := range kind {
		kind[d] = -1
	}
	// Regular campaigns go out every 7/cadence days, give or take a day or two.
	interval := 7 / s.cadence
	for t := r.Float64() * interval; int(t) < days; t += interval * (0.7 + 0.6*r.Float64()) {
		kind[int(t)] = kindNewsletter
		if r.Float64() < 0.3 {
			kind[int(t)] = kindPromo
		}
	}
	for _, h := range holidays(g.opts.Start, days) {
		if r.Float64() >= 0.85 {
			continue
		}
		d := int((h.day-g.start)/day) - 2 - r.IntN(9)
		if d >= 0 && d < days {
			kind[d], holiday[d] = kindHoliday, h.name
		}
	}
	var out []campaign
	for d, k := range kind {
		if k < 0 {
			continue
		}
		g.nextCampaign++
		at := g.start + int64(d)*day + int64(s.sendHour)*hour + r.Int64N(hour)
		if r.Float64() < 0.2 {
			at += int64(r.IntN(5)-2) * hour
		}
		out = append(out, campaign{id: g.nextCampaign, name: campaignName(r, k, holiday[d], time.UnixMicro(at).UTC()), kind: k, sentAt: at})
	}
	return out
}

func campaignName(r *rand.Rand, kind int, holiday string, at time.Time) string {
	switch kind {
	case kindHoliday:
		if r.IntN(2) == 0 {
			return holiday + " gift guide"
		}
		return "Last days for " + holiday
	case kindPromo:
		switch r.IntN(3) {
		case 0:
			return strconv.Itoa(10+5*r.IntN(5)) + "% off this weekend"
		case 1:
			return "Free shipping week"
		default:
			return "Flash sale"
		}
	default:
		switch r.IntN(3) {
		case 0:
			return at.Month().String() + " newsletter"
		case 1:
			return "New arrivals"
		default:
			return "Behind the scenes"
		}
	}
}

type holidayDate struct {
	name string
	day  int64 // midnight UTC, Unix microseconds
}

// holidays lists the shopping holidays from start to a little after the last
// day, when a campaign before them still falls in the range.
func holidays(start time.Time, days int) []holidayDate {
	end := start.AddDate(0, 0, days+12)
	var out []holidayDate
	for y := start.Year(); y <= end.Year(); y++ {
		for _, h := range []struct {
			name string
			t    time.Time
		}{
			{"Valentine's Day", time.Date(y, time.February, 14, 0, 0, 0, 0, time.UTC)},
			{"Mother's Day", nthWeekday(y, time.May, time.Sunday, 2)},
			{"Halloween", time.Date(y, time.October, 31, 0, 0, 0, 0, time.UTC)},
			{"Black Friday", nthWeekday(y, time.November, time.Thursday, 4).AddDate(0, 0, 1)},
			{"Christmas", time.Date(y, time.December, 25, 0, 0, 0, 0, time.UTC)},
		} {
			if !h.t.Before(start) && h.t.Before(end) {
				out = append(out, holidayDate{h.name, h.t.UnixMicro()})
			}
		}
	}
	return out
}

func nthWeekday(year int, month time.Month, wd time.Weekday, n int) time.Time {
	t := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	offset := (int(wd) - int(t.Weekday()) + 7) % 7
	return t.AddDate(0, 0, offset+7*(n-1))
}

func pick(r *rand.Rand, ws []weighted) string {
	return ws[pickIndex(r, len(ws), func(i int) float64 { return ws[i].weight })].name
}

func pickIndex(r *rand.Rand, n int, weight func(int) float64) int {
	var total float64
	for i := range n {
		total += weight(i)
	}
	x := r.Float64() * total
	for i := range n {
		x -= weight(i)
		if x < 0 {
			return i
		}
	}
	return n - 1
}
