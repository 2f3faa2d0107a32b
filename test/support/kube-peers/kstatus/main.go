// kstatus reads Kubernetes objects as JSON (one per line on stdin) and prints, one line each,
// what sigs.k8s.io/cli-utils/pkg/kstatus computes for it: the status Flux and kpt gate on.
// The tests feed it RampContracts read back from the API server, so the verdict is the
// library's own, not ours. Output: {"status":"InProgress|Current|Failed|...","message":"..."}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	out := json.NewEncoder(os.Stdout)
	line := 0
	for in.Scan() {
		line++
		if len(in.Bytes()) == 0 {
			continue
		}
		obj := map[string]interface{}{}
		// apimachinery's decoder keeps integers int64, as unstructured accessors require.
		if err := utiljson.Unmarshal(in.Bytes(), &obj); err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: stdin line %d: not a JSON object: %v\n", line, err)
			os.Exit(2)
		}
		res, err := status.Compute(&unstructured.Unstructured{Object: obj})
		v := verdict{}
		if err != nil {
			v.Error = err.Error()
		} else {
			v.Status = res.Status.String()
			v.Message = res.Message
		}
		if err := out.Encode(v); err != nil {
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: reading stdin: %v\n", err)
		os.Exit(2)
	}
}
