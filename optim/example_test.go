package optim_test

import (
	"fmt"
	"log"

	"github.com/digitnet/digitnet/optim"
)

// A learning-rate schedule gives each epoch's rate; train.Config.Schedule takes it.
func ExampleNewSchedule() {
	s, err := optim.NewSchedule("onecycle", 0.01, 6, 0)
	if err != nil {
		log.Fatal(err)
	}
	for epoch := 1; epoch <= 6; epoch++ {
		fmt.Printf("epoch %d: %.4f\n", epoch, s(epoch))
	}
	// Output:
	// epoch 1: 0.0004
	// epoch 2: 0.0052
	// epoch 3: 0.0100
	// epoch 4: 0.0085
	// epoch 5: 0.0050
	// epoch 6: 0.0015
}
