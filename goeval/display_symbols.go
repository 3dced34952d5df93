package goeval

import (
	"reflect"

	"github.com/mpigo/mpigo/display"
)

// displayPath is the import path of the display package cells may import.
const displayPath = "github.com/mpigo/mpigo/display"

// displaySymbols exposes the cell-facing API of package display to the
// interpreter, in the yaegi Exports layout ("path/name" → symbols).
var displaySymbols = map[string]map[string]reflect.Value{
	displayPath + "/display": {
		"HTML":       reflect.ValueOf(display.HTML),
		"Markdown":   reflect.ValueOf(display.Markdown),
		"SVG":        reflect.ValueOf(display.SVG),
		"Latex":      reflect.ValueOf(display.Latex),
		"JavaScript": reflect.ValueOf(display.JavaScript),
		"Text":       reflect.ValueOf(display.Text),
		"PNG":        reflect.ValueOf(display.PNG),
		"JPEG":       reflect.ValueOf(display.JPEG),
		"JSON":       reflect.ValueOf(display.JSON),
		"Image":      reflect.ValueOf(display.Image),
		"Data":       reflect.ValueOf(display.Data),
		"Update":     reflect.ValueOf(display.Update),
		"Clear":      reflect.ValueOf(display.Clear),
	},
}
