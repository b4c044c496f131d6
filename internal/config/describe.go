package config

import "reflect"

// descriptions maps each variable name to its `desc` tag.
func descriptions() map[string]string {
	out := map[string]string{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Type.Kind() == reflect.Struct && f.Tag.Get("envPrefix") != "" {
				walk(f.Type, prefix+f.Tag.Get("envPrefix"))
				continue
			}
			if name := f.Tag.Get("env"); name != "" {
				out[prefix+name] = f.Tag.Get("desc")
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return out
}
