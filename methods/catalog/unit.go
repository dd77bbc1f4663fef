package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// Unit is a target inside the model instead of a class: a channel of a
// layer, a single neuron, or a direction in a layer's channel space. The
// backprop methods explain its value as they explain a class logit.
//
// For a layer with positions (a convolution's [N,H,W,C], a transformer's
// tokens [N,T,D]) the value of a channel is, by Reduce:
//   - "max" (the default): its strongest activation in the image, as Zeiler
//     & Fergus project it, found anew for each input (the first position in
//     raster order on ties);
//   - "mean": its mean over the positions;
//   - "at": its activation at position At (row, column; or the token).
//
// A Direction v (one value per channel) gives ⟨A[p], v⟩ instead of a
// channel, with Reduce "mean" (the default, Lucid's and Xplique's direction
// objective) or "at". A layer without positions ([N,C], a dense layer) has
// neurons: its channel is the neuron and Reduce does not apply.
type Unit struct {
	// Layer is the Keras layer.
	Layer string `json:"layer"`
	// Channel is the channel or neuron (ignored with Direction).
	Channel int `json:"channel"`
	// Direction is a vector over the layer's channels (nil: Channel).
	Direction []float32 `json:"direction,omitempty"`
	// DirectionFile names the file Direction was read from, for String.
	DirectionFile string `json:"direction_file,omitempty"`
	// Reduce is "max", "mean" or "at" ("": max for a channel, mean for a
	// direction).
	Reduce string `json:"reduce,omitempty"`
	// At is the position of Reduce "at": one index per position axis.
	At []int `json:"at,omitempty"`
}

// String is the unit in the syntax of ParseTarget.
func (u Unit) String() string {
	var b strings.Builder
	b.WriteString(u.Layer)
	b.WriteByte(':')
	if u.Direction != nil {
		f := u.DirectionFile
		if f == "" {
			f = "direction.npy"
		}
		b.WriteString(f)
	} else {
		b.WriteString(strconv.Itoa(u.Channel))
	}
	switch {
	case u.Reduce == "at" || u.At != nil:
		b.WriteByte('@')
		for i, a := range u.At {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(a))
		}
	case u.Reduce != "" && !(u.Direction != nil && u.Reduce == "mean"):
		b.WriteString("/" + u.Reduce)
	}
	return b.String()
}

// Describe says in words what the unit's value is.
func (u Unit) Describe() string {
	what := fmt.Sprintf("channel %d", u.Channel)
	if u.Direction != nil {
		what = "the direction " + u.DirectionFile
	}
	switch {
	case u.Reduce == "at" || u.At != nil:
		return fmt.Sprintf("%s at %v", what, u.At)
	case u.Reduce == "mean" || (u.Reduce == "" && u.Direction != nil):
		return what + ", mean over positions"
	}
	return what + ", strongest activation (a neuron on a dense layer)"
}
