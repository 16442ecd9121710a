package recipe

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// With is the recipe with the setting key (a JSON key of Recipe, as a command line's
// flag names it: "lr", "init", "train_limit", …) set to value, given as the command line
// writes it ("0.001", "he-normal", "784,300,10", "true"). The result is validated.
func (r Recipe) With(key, value string) (Recipe, error) {
	v := reflect.ValueOf(&r).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != key {
			continue
		}
		f := v.Field(i)
		bad := &FieldError{Key: key, Value: strconv.Quote(value), Want: "a " + f.Kind().String()}
		switch f.Kind() {
		case reflect.String:
			f.SetString(value)
		case reflect.Int:
			n, err := strconv.Atoi(value)
			if err != nil {
				return r, bad
			}
			f.SetInt(int64(n))
		case reflect.Uint64:
			n, err := strconv.ParseUint(value, 10, 64)
			if err != nil {
				return r, bad
			}
			f.SetUint(n)
		case reflect.Float64:
			x, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return r, bad
			}
			f.SetFloat(x)
		case reflect.Bool:
			b, err := strconv.ParseBool(value)
			if err != nil {
				return r, bad
			}
			f.SetBool(b)
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.Int {
				return r, fmt.Errorf("recipe: %s cannot be set from text", key)
			}
			var ns []int
			for _, p := range strings.Split(value, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(p))
				if err != nil {
					return r, bad
				}
				ns = append(ns, n)
			}
			f.Set(reflect.ValueOf(ns))
		default:
			return r, fmt.Errorf("recipe: %s cannot be set from text", key)
		}
		if key == "layers" {
			r.Layers = slices.Clone(r.Layers)
		}
		return r, r.Validate()
	}
	return r, fmt.Errorf("recipe: no setting %q", key)
}

// Setting is the value of the setting key as With takes it ("" for an unknown key).
func (r Recipe) Setting(key string) string {
	v := reflect.ValueOf(r)
	t := v.Type()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name == key {
			f := v.Field(i)
			if f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Int {
				var parts []string
				for j := range f.Len() {
					parts = append(parts, strconv.Itoa(int(f.Index(j).Int())))
				}
				return strings.Join(parts, ",")
			}
			if f.Kind() == reflect.Float64 {
				return strconv.FormatFloat(f.Float(), 'g', -1, 64)
			}
			return fmt.Sprint(f.Interface())
		}
	}
	return ""
}
