package train

import (
	"fmt"
	"regexp"
)

// SettingError reports a setting of a Config that cannot work. The library
// names settings by their config keys (as in config.json: d_model,
// eval_every); a command that takes them as flags renders the same error
// with its own names (see Render).
type SettingError struct {
	Key    string // the setting at fault
	format string // fmt format; {key} and {-key} name settings
	args   []any
	err    error // wrapped, if any
}

func settingError(key, format string, args ...any) *SettingError {
	return &SettingError{Key: key, format: format, args: args}
}

// Error names settings by their keys.
func (e *SettingError) Error() string {
	return e.Render(func(key string, _ bool) string { return key })
}

// Render formats the message, naming each setting name(key, dash): dash
// says whether the sentence names it as an option ("-val needs -data")
// rather than as a quantity ("d_model 30 is not divisible by heads 4").
func (e *SettingError) Render(name func(key string, dash bool) string) string {
	f := settingName.ReplaceAllStringFunc(e.format, func(m string) string {
		sub := settingName.FindStringSubmatch(m)
		return name(sub[2], sub[1] == "-")
	})
	return fmt.Sprintf(f, e.args...)
}

// Unwrap returns the error the setting caused, if any.
func (e *SettingError) Unwrap() error { return e.err }

var settingName = regexp.MustCompile(`\{(-?)([a-z_0-9]+)\}`)
