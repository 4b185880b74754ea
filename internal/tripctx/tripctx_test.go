package tripctx

import "testing"

// TestTripsAtN: the context is live for n−1 looks and cancelled at the
// n-th and after it.
func TestTripsAtN(t *testing.T) {
	c := New(3)
	defer c.Close()
	for i := int64(1); i <= 4; i++ {
		err := c.Err()
		if want := i >= 3; (err != nil) != want || c.Tripped() != want || c.Looks() != i {
			t.Errorf("look %d: err %v, tripped %v, looks %d", i, err, c.Tripped(), c.Looks())
		}
	}
}
