package fctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// ValidationError says which field of a request body broke which rule.
type ValidationError struct {
	Field string // dotted path into the body, "" for the body itself
	Rule  string // "required", "type", "enum", "minimum", "maximum", "unknown field", ...
	Msg   string
}

func (e *ValidationError) Error() string {
	f := e.Field
	if f == "" {
		f = "body"
	}
	return fmt.Sprintf("%s: %s: %s", f, e.Rule, e.Msg)
}

// ValidateBody checks a JSON body for method and path (a concrete path such as
// /drives/rootfs) against the spec. For PATCH /machine-config the schema's
// required list is not enforced (the server accepts any subset).
func (s *Spec) ValidateBody(method, path string, body []byte) error {
	method = strings.ToUpper(method)
	tmpl, _, ok := s.route(path)
	if !ok || !s.Has(method, tmpl) {
		return &ValidationError{Rule: "route", Msg: fmt.Sprintf("%s %s is not in the spec", method, path)}
	}
	schema, required, hasBody := s.bodySchema(method, tmpl)
	if !hasBody {
		if len(bytes.TrimSpace(body)) != 0 {
			return &ValidationError{Rule: "body", Msg: "operation takes no body"}
		}
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return &ValidationError{Rule: "required", Msg: "empty request body"}
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &ValidationError{Rule: "json", Msg: err.Error()}
	}
	if dec.More() {
		return &ValidationError{Rule: "json", Msg: "trailing data after the body"}
	}
	skipRequired := method == "PATCH" && tmpl == "/machine-config"
	return s.validate("", schema, v, skipRequired)
}

func (s *Spec) resolve(schema map[string]any) (map[string]any, error) {
	for i := 0; i < 16; i++ {
		ref, ok := schema["$ref"].(string)
		if !ok {
			return schema, nil
		}
		name, found := strings.CutPrefix(ref, "#/definitions/")
		if !found {
			return nil, fmt.Errorf("unsupported $ref %q", ref)
		}
		d, ok := s.definitions[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("unresolved $ref %q", ref)
		}
		schema = d
	}
	return nil, fmt.Errorf("$ref loop")
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (s *Spec) validate(field string, schema map[string]any, v any, skipRequired bool) error {
	schema, err := s.resolve(schema)
	if err != nil {
		return &ValidationError{Field: field, Rule: "schema", Msg: err.Error()}
	}
	typ, _ := schema["type"].(string)
	if typ == "" {
		if _, ok := schema["properties"]; ok {
			typ = "object"
		}
	}
	if err := checkType(field, typ, v); err != nil {
		return err
	}
	if enum, ok := schema["enum"].([]any); ok && !inEnum(enum, v) {
		return &ValidationError{Field: field, Rule: "enum", Msg: fmt.Sprintf("%v is not one of %v", v, enum)}
	}
	if n, ok := v.(json.Number); ok {
		if err := checkRange(field, schema, n); err != nil {
			return err
		}
	}
	switch typ {
	case "object":
		return s.validateObject(field, schema, v.(map[string]any), skipRequired)
	case "array":
		items, _ := schema["items"].(map[string]any)
		for i, e := range v.([]any) {
			if items == nil {
				break
			}
			if err := s.validate(fmt.Sprintf("%s[%d]", field, i), items, e, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Spec) validateObject(field string, schema map[string]any, obj map[string]any, skipRequired bool) error {
	props, _ := schema["properties"].(map[string]any)
	if !skipRequired {
		req, _ := schema["required"].([]any)
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := obj[name]; !ok {
				return &ValidationError{Field: join(field, name), Rule: "required", Msg: "missing"}
			}
		}
	}
	// Firecracker's config structs use serde(deny_unknown_fields): unknown
	// keys are refused unless the schema explicitly allows extra properties.
	allowExtra, _ := schema["additionalProperties"].(bool)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps, ok := props[k].(map[string]any)
		if !ok {
			if allowExtra {
				continue
			}
			return &ValidationError{Field: join(field, k), Rule: "unknown field", Msg: "not in the schema"}
		}
		if err := s.validate(join(field, k), ps, obj[k], false); err != nil {
			return err
		}
	}
	return nil
}

func checkType(field, typ string, v any) error {
	var ok bool
	switch typ {
	case "":
		return nil
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "number":
		_, ok = v.(json.Number)
	case "integer":
		n, isNum := v.(json.Number)
		ok = isNum && isInteger(n)
	default:
		return &ValidationError{Field: field, Rule: "schema", Msg: "unknown type " + typ}
	}
	if !ok {
		return &ValidationError{Field: field, Rule: "type", Msg: fmt.Sprintf("want %s, got %s", typ, jsonType(v))}
	}
	return nil
}

func isInteger(n json.Number) bool {
	r, ok := new(big.Rat).SetString(n.String())
	return ok && r.IsInt()
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func inEnum(enum []any, v any) bool {
	for _, e := range enum {
		if fmt.Sprint(e) == fmt.Sprint(v) && jsonType(v) == jsonType(normalise(e)) {
			return true
		}
	}
	return false
}

// normalise maps YAML scalar types onto the JSON ones for comparison.
func normalise(e any) any {
	switch x := e.(type) {
	case int:
		return json.Number(fmt.Sprint(x))
	case float64:
		return json.Number(fmt.Sprint(x))
	}
	return e
}

func checkRange(field string, schema map[string]any, n json.Number) error {
	val, ok := new(big.Rat).SetString(n.String())
	if !ok {
		return &ValidationError{Field: field, Rule: "type", Msg: "bad number " + n.String()}
	}
	if m, ok := ratOf(schema["minimum"]); ok && val.Cmp(m) < 0 {
		return &ValidationError{Field: field, Rule: "minimum", Msg: fmt.Sprintf("%s < %s", n, m.RatString())}
	}
	if m, ok := ratOf(schema["maximum"]); ok && val.Cmp(m) > 0 {
		return &ValidationError{Field: field, Rule: "maximum", Msg: fmt.Sprintf("%s > %s", n, m.RatString())}
	}
	return nil
}

func ratOf(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case float64:
		return new(big.Rat).SetFloat64(x), true
	}
	return nil, false
}
