package jsvalue_test

import (
	"fmt"
	"log"
	"math"
	"math/big"

	"nodeipc.dev/nodeipc/jsvalue"
)

// The JSON view writes what JSON cannot say as tagged objects, and reads
// them back into the same values.
func Example() {
	m := &jsvalue.Map{}
	m.Set("ada", 36)
	v := []any{m, jsvalue.Undefined{}, math.NaN(), big.NewInt(-7), jsvalue.Buffer("hi"), "plain"}

	text, err := jsvalue.AppendJSON(nil, v)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(text))

	back, err := jsvalue.FromJSON(text)
	if err != nil {
		log.Fatal(err)
	}
	a := back.([]any)
	age, _ := a[0].(*jsvalue.Map).Get("ada")
	fmt.Println(age, a[1] == jsvalue.Undefined{}, math.IsNaN(a[2].(float64)), a[3], a[4], a[5])
	// Output:
	// [{"$js":"Map","entries":[["ada",36]]},{"$js":"undefined"},{"$js":"number","value":"NaN"},{"$js":"bigint","value":"-7"},{"$js":"Buffer","base64":"aGk="},"plain"]
	// 36 true true -7 [104 105] plain
}

// A Parser reuses its memory for every text: a stream of messages of one
// shape parses without allocating, as long as each value is done with
// before the next Parse.
func ExampleParser() {
	var p jsvalue.Parser
	for _, line := range []string{`{"op":"add","n":[1,2]}`, `{"op":"mul","n":[3,4]}`} {
		v, err := p.Parse([]byte(line))
		if err != nil {
			log.Fatal(err)
		}
		o := v.(*jsvalue.Object)
		op, _ := o.Get("op")
		n, _ := o.Get("n")
		out, _ := jsvalue.AppendStringify(nil, n) // used now, before the next Parse
		fmt.Println(op, string(out))
	}
	// Output:
	// add [1,2]
	// mul [3,4]
}
