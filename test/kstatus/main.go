// Command kstatus reads Kubernetes objects as JSON, one per line, and prints what
// kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status, the library behind Flux's
// health checks, kpt and cli-utils' apply waits) computes for each: one JSON line
// {"status":"Current","message":"..."} per object, in order.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		// Through apimachinery's decoder, which keeps integers int64 as the API server sends them.
		object := &unstructured.Unstructured{}
		if err := object.UnmarshalJSON(in.Bytes()); err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: not a Kubernetes object: %v\n", err)
			os.Exit(2)
		}
		v := verdict{}
		if result, err := status.Compute(object); err != nil {
			v.Error = err.Error()
		} else {
			v.Status, v.Message = result.Status.String(), result.Message
		}
		if err := out.Encode(v); err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(1)
	}
}
