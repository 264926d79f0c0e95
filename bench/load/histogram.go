package load

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two is split
// into 2^(subBits-1) buckets, so a recorded value is known to within
// 1/2^(subBits-1) (0.8%) of itself, from a nanosecond to centuries.
const subBits = 8

const (
	// exact is the count of values below it, each with a bucket of its own.
	exact = 1 << subBits
	// half is the number of buckets per power of two above exact.
	half = exact / 2
	// numBuckets covers every non-negative int64.
	numBuckets = exact + (63-subBits)*half
)

// Histogram counts durations in buckets of bounded relative width, so that
// millions of latencies cost a fixed 60 KB and any percentile is known to
// within 0.8%. Min, max and mean are exact. The zero value is not usable;
// call NewHistogram. A Histogram is not safe for concurrent use: give each
// worker its own and Merge them.
type Histogram struct {
	counts []uint64
	n      uint64
	sum    float64
	min    time.Duration
	max    time.Duration
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf returns the bucket holding v nanoseconds; negative values count
// as zero.
func bucketOf(v int64) int {
	if v < exact {
		return int(max(v, 0))
	}
	// v has subBits+s bits; its top subBits bits select the bucket
	// within its power of two.
	s := bits.Len64(uint64(v)) - subBits
	m := int(v >> s)
	return exact + (s-1)*half + (m - half)
}

// bucketLow returns the smallest value of bucket i.
func bucketLow(i int) int64 {
	if i < exact {
		return int64(i)
	}
	s := (i-exact)/half + 1
	m := int64((i-exact)%half + half)
	return m << s
}

// bucketMid returns the value reported for bucket i: its middle, which
// halves the worst error of reporting either end.
func bucketMid(i int) int64 {
	low := bucketLow(i)
	if i < exact {
		return low
	}
	width := int64(1) << ((i-exact)/half + 1)
	return low + (width-1)/2
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucketOf(int64(d))]++
	h.n++
	h.sum += float64(d)
	h.min = min(h.min, d)
	h.max = max(h.max, d)
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest value recorded, or 0 when there is none.
func (h *Histogram) Min() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.min
}

// Max returns the largest value recorded, or 0 when there is none.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the average value, or 0 when there is none.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the value below which a fraction q (0 to 1) of the
// values lie: the value of rank ceil(q*n), as the nearest-rank method
// defines it, to within the bucket precision and clamped to the exact
// min and max. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := time.Duration(bucketMid(i))
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}
