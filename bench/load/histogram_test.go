package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	tests := []struct {
		name string
		v    int64
	}{
		{name: "zero", v: 0},
		{name: "one", v: 1},
		{name: "last_exact", v: exact - 1},
		{name: "first_shared", v: exact},
		{name: "next_power", v: 2 * exact},
		{name: "odd", v: 2*exact + 3},
		{name: "microsecond", v: 1000},
		{name: "millisecond", v: 1_000_000},
		{name: "minute", v: int64(time.Minute)},
		{name: "largest", v: math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBucket(t, tt.v)
		})
	}
}

// checkBucket checks that v's bucket holds v and is narrow enough.
func checkBucket(t *testing.T, v int64) {
	t.Helper()
	i := bucketOf(v)
	if i < 0 || i >= numBuckets {
		t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", v, i, numBuckets)
	}
	low := bucketLow(i)
	if low > v {
		t.Errorf("bucketLow(bucketOf(%d)) = %d, above the value", v, low)
	}
	if i+1 < numBuckets {
		if next := bucketLow(i + 1); next <= v {
			t.Errorf("bucketLow(bucketOf(%d)+1) = %d, not above the value", v, next)
		}
	}
	mid := bucketMid(i)
	if diff := math.Abs(float64(mid - v)); diff > float64(v)/float64(half) {
		t.Errorf("bucketMid(bucketOf(%d)) = %d, off by %g, over 1/%d of the value", v, mid, diff, half)
	}
}

func FuzzBucket(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(exact))
	f.Add(int64(123456789))
	f.Add(int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, v int64) {
		if v < 0 {
			if got := bucketOf(v); got != 0 {
				t.Fatalf("bucketOf(%d) = %d, want 0", v, got)
			}
			return
		}
		checkBucket(t, v)
	})
}

func TestQuantileSmallValuesExact(t *testing.T) {
	h := NewHistogram()
	for i := 100; i >= 1; i-- {
		h.Record(time.Duration(i))
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{q: 0, want: 1},
		{q: 0.01, want: 1},
		{q: 0.5, want: 50},
		{q: 0.505, want: 51},
		{q: 0.99, want: 99},
		{q: 1, want: 100},
	}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%g) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if h.Min() != 1 || h.Max() != 100 || h.Count() != 100 {
		t.Errorf("Min, Max, Count = %v, %v, %d; want 1ns, 100ns, 100", h.Min(), h.Max(), h.Count())
	}
	if got, want := h.Mean(), time.Duration(50); got != want {
		t.Errorf("Mean() = %v, want %v", got, want)
	}
}

// TestQuantileMatchesSorted compares the histogram's quantiles with the
// exact nearest-rank quantiles of latency-like values spanning decades.
func TestQuantileMatchesSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var all []time.Duration
	h := NewHistogram()
	for range 200000 {
		d := time.Duration(math.Exp(r.NormFloat64()*1.5) * float64(200*time.Microsecond))
		all = append(all, d)
		h.Record(d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999} {
		rank := int(math.Ceil(q * float64(len(all))))
		want := all[rank-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 1.0/half {
			t.Errorf("Quantile(%g) = %v, want %v within 1/%d (off by %.3f%%)", q, got, want, half, rel*100)
		}
	}
	if h.Min() != all[0] || h.Max() != all[len(all)-1] {
		t.Errorf("Min, Max = %v, %v; want %v, %v", h.Min(), h.Max(), all[0], all[len(all)-1])
	}
}

func TestMergeEqualsRecordingAll(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 5000 {
		d := time.Duration(i*i) * time.Nanosecond
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(b)
	if !slices.Equal(a.counts, all.counts) {
		t.Error("merged bucket counts differ from recording every value in one histogram")
	}
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Errorf("merged count, min, max, mean = %d, %v, %v, %v; want %d, %v, %v, %v",
			a.Count(), a.Min(), a.Max(), a.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
}

func TestEmptyHistogram(t *testing.T) {
	h := NewHistogram()
	h.Merge(NewHistogram())
	if h.Quantile(0.5) != 0 || h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Errorf("empty histogram: Quantile, Min, Max, Mean = %v, %v, %v, %v; want all 0",
			h.Quantile(0.5), h.Min(), h.Max(), h.Mean())
	}
}
