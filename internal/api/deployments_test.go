package api

import "testing"

func TestUserCounter(t *testing.T) {
	c := newUserCounter(2)
	for i := range 2 {
		if !c.acquire("a") {
			t.Fatalf("a's upload %d refused at a limit of 2", i+1)
		}
	}
	if c.acquire("a") {
		t.Error("a's third upload accepted at a limit of 2")
	}
	if !c.acquire("b") {
		t.Error("b refused while only a is at the limit")
	}
	c.release("a")
	if !c.acquire("a") {
		t.Error("a refused after one upload ended")
	}
	c.release("a")
	c.release("a")
	c.release("b")
	if len(c.n) != 0 {
		t.Errorf("counts left after every release: %v", c.n)
	}
}
