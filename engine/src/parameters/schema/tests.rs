use serde_json::json;

use super::*;

#[test]
fn lists_the_values_of_a_one_of_of_consts_and_enums() {
    let schema = json!({
        "type": "object",
        "properties": {
            "pull": {"$ref": "#/$defs/Pull", "default": ""},
            "metric": {"oneOf": [
                {"const": "Utilization", "type": "string"},
                {"const": "AverageValue", "type": "string"}
            ]},
            "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        },
        "$defs": {"Pull": {"oneOf": [
            {"enum": ["IfNotPresent", "Always", "Never"], "type": "string"},
            {"const": "", "type": "string"}
        ]}}
    });
    let mut rows = Vec::new();
    parameter_rows(&schema, &schema, "", 0, &mut rows);
    assert_eq!(
        rows,
        [
            "  either (string or integer)",
            "  metric (string, one of \"Utilization\" | \"AverageValue\")",
            "  pull (string, default \"\", one of \"IfNotPresent\" | \"Always\" | \"Never\" | \"\")",
        ]
    );
}

#[test]
fn describes_nested_parameters() {
    let schema = json!({
        "type": "object",
        "required": ["image"],
        "properties": {
            "image": {"type": "string", "description": "Which image"},
            "replicas": {"type": "integer", "default": 1},
            "labels": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
            "ports": {"type": "array", "items": {"$ref": "#/$defs/Port"}},
            "kind": {"enum": ["a", "b"], "type": "string"}
        },
        "$defs": {"Port": {"type": "object", "required": ["port"], "properties": {
            "port": {"type": "integer", "description": "Number of port"}
        }}}
    });
    let mut rows = Vec::new();
    parameter_rows(&schema, &schema, "", 0, &mut rows);
    assert_eq!(
        rows,
        [
            "  image (string, required)",
            "      Which image",
            "  kind (string, one of \"a\" | \"b\")",
            "  labels (map of string)",
            "  ports (list of object)",
            "      port (integer, required)",
            "          Number of port",
            "  replicas (integer, default 1)",
        ]
    );
}
