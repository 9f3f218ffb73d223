package v8_test

import (
	"fmt"
	"log"
	"math/big"

	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/v8"
)

// A Go value goes through the bytes that Node's v8.serialize() would write
// for the same JavaScript value, and comes back with its JavaScript types.
func Example() {
	type job struct {
		ID   int      `json:"id"`
		Tags []string `json:"tags"`
	}
	sizes := &jsvalue.Map{}
	sizes.Set("small", 1)
	sizes.Set(2, "two")

	data, err := v8.Marshal(map[string]any{
		"job":   job{ID: 7, Tags: []string{"a", "b"}},
		"sizes": sizes,
		"big":   new(big.Int).Lsh(big.NewInt(1), 64),
		"blob":  []byte("hi"),
		"none":  jsvalue.Undefined{},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", data[:2]) // the version header

	var v map[string]any
	if err := v8.Unmarshal(data, &v); err != nil {
		log.Fatal(err)
	}
	two, _ := v["sizes"].(*jsvalue.Map).Get(2)
	fmt.Println(v["job"], two, v["big"], v["blob"], v["none"])

	var j struct{ Job job }
	if err := v8.Unmarshal(data, &j); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", j.Job)
	// Output:
	// ff 0f
	// map[id:7 tags:[a b]] two 18446744073709551616 [104 105] {}
	// {ID:7 Tags:[a b]}
}

// A receiver can look at one property of a message before decoding it.
func ExampleAppendStringProperty() {
	data, err := v8.Marshal(map[string]any{"type": "resize", "width": 80, "height": 24})
	if err != nil {
		log.Fatal(err)
	}
	var buf [32]byte
	typ, ok := v8.AppendStringProperty(buf[:0], data, "type")
	fmt.Println(string(typ), ok)
	// Output: resize true
}
