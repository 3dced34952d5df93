package mpimagic

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/mpimagic/report"
)

// %mpirun --out NAME: the program (program.GenerateOut) sends the value of
// the cell's final expression from every rank through its wrapper's value
// channel (package rankio, rankout), the collector keeps each rank's
// (launch.RankResult.Value), and once every rank succeeded setOut hands
// them, in rank order, to Config.SetOut, as %px --out does. What a rank
// sent is checked before it reaches the session: a rank may send anything.

// OutValueError is a rank's --out value that cannot go into the notebook.
// Each situation has one constructor: noValue, unencodable, notAType,
// notJSON.
type OutValueError struct {
	Rank int
	Why  string
}

// Error names the rank and says why.
func (e *OutValueError) Error() string { return fmt.Sprintf("rank %d: %s", e.Rank, e.Why) }

// noValue is a rank that sent no value: its program ended before the
// value was sent, or its output did not come over the rank channel.
func noValue(rank int) *OutValueError {
	return &OutValueError{Rank: rank, Why: "sent no value back (it ended before its final expression, or its wrapper could not reach the kernel)"}
}

// unencodable is a value that neither gob nor encoding/json could encode,
// or that was too large; why is the rank's (or the collector's) reason.
func unencodable(rank int, why string) *OutValueError {
	return &OutValueError{Rank: rank, Why: "its value cannot be brought back: " + why}
}

// notAType is a value whose type text is not a type a value can have.
func notAType(rank int, typ string) *OutValueError {
	return &OutValueError{Rank: rank, Why: fmt.Sprintf("it sent %.80q as its value's type, which is not one", typ)}
}

// notJSON is a value whose JSON encoding is not JSON.
func notJSON(rank int) *OutValueError {
	return &OutValueError{Rank: rank, Why: "its value's JSON encoding is not JSON"}
}

// setOut puts the ranks' values into the notebook session as the slice
// --out names, through Config.SetOut. Its errors name the final
// expression's cell line.
func (c *cellRun) setOut(ctx context.Context, results []launch.RankResult) *cellio.Error {
	vals, jsons, err := outValues(c.o.Out, results)
	if err != nil {
		return outUsageError(c.outWhere(), c.o.Out, err.Error())
	}
	if c.m.cfg.SetOut == nil {
		return report.MagicError(fmt.Errorf("--out %s: this kernel cannot take the ranks' values", c.o.Out))
	}
	if err := c.m.cfg.SetOut(ctx, c.o.Out, vals, jsons); err != nil {
		return report.MagicError(fmt.Errorf("--out %s: %w", c.o.Out, err))
	}
	return nil
}

// outWhere is "cell[N]:LINE:COL" of the final expression --out sends.
func (c *cellRun) outWhere() string {
	return fmt.Sprintf("%s:%d:%d", c.cellName, c.out.Line, c.out.Col)
}

// outUsageError is the cell error of --out name at where: the cell has no
// value to give, or a rank's value cannot be brought back.
func outUsageError(where, name, why string) *cellio.Error {
	return report.UsageError(fmt.Sprintf("%s: --out %s: %s", where, name, why), "")
}

// outValues turns the ranks' values into SetOut's arguments, in rank
// order; the first rank whose value cannot be used is an *OutValueError.
func outValues(name string, results []launch.RankResult) ([]goeval.CarriedVar, []json.RawMessage, error) {
	vals := make([]goeval.CarriedVar, len(results))
	jsons := make([]json.RawMessage, len(results))
	for i, r := range results {
		v, err := checkValue(r.Rank, r.Value)
		if err != nil {
			return nil, nil, err
		}
		vals[i] = goeval.CarriedVar{Name: name, Type: v.Type, Value: v.Gob}
		jsons[i] = v.JSON
	}
	return vals, jsons, nil
}

// checkValue checks what rank sent: a value, with a type that is a type
// expression (the session declares the slice with it), and JSON that is
// JSON.
func checkValue(rank int, v *rankio.Value) (*rankio.Value, error) {
	switch {
	case v == nil:
		return nil, noValue(rank)
	case v.Err != "":
		return nil, unencodable(rank, v.Err)
	case v.Type == "" && len(v.JSON) == 0:
		return nil, unencodable(rank, "it sent neither gob nor JSON")
	case v.Type != "" && !goeval.IsTypeText(v.Type, rankio.MaxValue):
		return nil, notAType(rank, v.Type)
	case len(v.JSON) > 0 && !json.Valid(v.JSON):
		return nil, notJSON(rank)
	}
	return v, nil
}
