package handlers

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkAck_200ConcurrentCommands sends 200 correctly signed slash commands at once through
// the real HTTP endpoint (a mix: diagnose on three edges, which start or join runs; status;
// incidents; help) and reports the acknowledgement latency's p50 and p99 as the client sees
// it, and how many goroutines are left above the baseline once every run has finished.
func BenchmarkAck_200ConcurrentCommands(b *testing.B) {
	const n = 200
	texts := []string{"diagnose edge-01", "diagnose edge-02", "diagnose branch-edge", "status edge-01", "incidents", "help"}
	var all, inside []time.Duration
	var mu sync.Mutex
	leftover := 0
	for b.Loop() {
		b.StopTimer()
		bot := newTestBot(b, b.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
		handler := bot.srv.Handler()
		timed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t0 := time.Now()
			handler.ServeHTTP(w, r)
			mu.Lock()
			inside = append(inside, time.Since(t0))
			mu.Unlock()
		}))
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}}
		baseline := runtime.NumGoroutine()
		reqs := make([]*http.Request, n)
		for i := range reqs {
			body := commandForm(bot.slack, "UOPS", "C1", texts[i%len(texts)])
			reqs[i], _ = http.NewRequest(http.MethodPost, timed.URL+"/slack/commands", strings.NewReader(body))
			reqs[i].Header = sign(testSecret, body, time.Now())
		}
		lat := make([]time.Duration, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				t0 := time.Now()
				resp, err := client.Do(reqs[i])
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Errorf("command %d: %v", i, err)
					return
				}
				resp.Body.Close()
			})
		}
		b.StartTimer()
		close(start)
		wg.Wait()
		b.StopTimer()
		all = append(all, lat...)
		bot.waitIdle()
		client.CloseIdleConnections()
		timed.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		leftover = max(leftover, runtime.NumGoroutine()-baseline)
		bot.stop()
		b.StartTimer()
	}
	slices.Sort(all)
	slices.Sort(inside)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
	b.ReportMetric(ms(all[len(all)-1]), "max-ms")
	b.ReportMetric(ms(inside[len(inside)/2]), "handler-p50-ms")
	b.ReportMetric(ms(inside[len(inside)*99/100]), "handler-p99-ms")
	b.ReportMetric(float64(leftover), "goroutines-left")
}
