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
