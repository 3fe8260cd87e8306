use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::json;

use super::*;
use crate::app::{Application, Source};
use crate::sandbox::Limits;

/// The built-ins' schemas, loaded once for all tests.
fn builtins() -> &'static [DefinitionSchema] {
    static DEFINITIONS: OnceLock<Vec<DefinitionSchema>> = OnceLock::new();
    DEFINITIONS.get_or_init(|| {
        let sandbox = Sandbox::new(Limits::default(), None).expect("sandbox");
        definitions(&sandbox, &Registry::builtin()).expect("the built-ins load")
    })
}

fn definition(name: &str, kind: Kind, parameters: Value) -> DefinitionSchema {
    DefinitionSchema {
        name: name.into(),
        kind,
        description: format!("The {name} definition."),
        parameters,
    }
}

/// A draft-07 validator of `schema`, as an editor's would be.
fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft7::new(schema).expect("a valid draft-07 schema whose references resolve")
}

/// The instance paths of what `validator` finds wrong in the YAML `text`.
fn problems(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let instance = Source::parse("app.yaml", text)
        .expect("YAML")
        .root()
        .to_json();
    validator
        .iter_errors(&instance)
        .map(|e| format!("{} {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_builtins_make_a_valid_draft07_schema_in_every_form() {
    for form in [Form::Application, Form::Appfile, Form::Either] {
        let schema = generate(builtins(), form).expect("generates");
        assert_eq!(schema["$schema"], DRAFT_07);
        assert!(jsonschema::draft7::meta::is_valid(&schema), "{form:?}");
        validator(&schema);
        // One `$schema`, at the root: a subschema with its own would be read in its draft.
        assert_eq!(
            serde_json::to_string(&schema)
                .unwrap()
                .matches("\"$schema\"")
                .count(),
            1
        );
    }
}

#[test]
fn every_component_type_and_trait_is_offered_by_name_with_its_description() {
    let schema = generate(builtins(), Form::Either).unwrap();
    let traits = &schema["definitions"]["traitType"];
    let names: Vec<&str> = traits["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        names.contains(&"scaler") && names.contains(&"gateway"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"webservice"),
        "a component type is not a trait"
    );
    assert!(
        !names.contains(&"require-labels"),
        "policies are the platform's"
    );
    let scaler = names.iter().position(|n| *n == "scaler").unwrap();
    assert!(
        traits["enumDescriptions"][scaler]
            .as_str()
            .unwrap()
            .contains("scale")
    );
    let workloads = &schema["definitions"]["componentType"]["enum"];
    assert!(workloads.as_array().unwrap().contains(&json!("webservice")));
    assert_eq!(schema["definitions"]["trait.scaler"]["title"], "scaler");
}

#[test]
fn an_application_is_checked_by_each_component_and_trait_type() {
    let validator = validator(&generate(builtins(), Form::Application).unwrap());
    let app = |trait_properties: &str, component_type: &str| {
        format!(
            "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {{name: shop}}\n\
             spec:\n  components:\n    - name: web\n      type: {component_type}\n      \
             properties: {{image: nginx:1.27, ports: [{{port: 80, expose: true}}]}}\n      \
             traits:\n        - type: scaler\n          properties: {trait_properties}\n"
        )
    };
    assert_eq!(
        problems(&validator, &app("{replicas: 3}", "webservice")),
        Vec::<String>::new()
    );

    let typo = problems(&validator, &app("{replica: 3}", "webservice"));
    assert!(!typo.is_empty());
    assert!(
        typo.iter()
            .all(|p| p.contains("/spec/components/0/traits/0/properties")),
        "{typo:?}"
    );
    assert!(typo.iter().any(|p| p.contains("replica")), "{typo:?}");

    let wrong_type = problems(&validator, &app("{replicas: three}", "webservice"));
    assert!(
        wrong_type
            .iter()
            .any(|p| p.contains("/properties/replicas")),
        "{wrong_type:?}"
    );

    let unknown = problems(&validator, &app("{replicas: 3}", "webservce"));
    assert!(
        unknown
            .iter()
            .any(|p| p.contains("/spec/components/0/type")),
        "{unknown:?}"
    );
}

#[test]
fn an_appfile_service_takes_its_types_parameters_and_traits_by_key() {
    let validator = validator(&generate(builtins(), Form::Appfile).unwrap());
    let valid = "name: shop\nservices:\n  web:\n    image: nginx:1.27\n    ports: [{port: 80, expose: true}]\n    scaler: {replicas: 2}\n  jobs:\n    type: worker\n    image: busybox\n";
    assert_eq!(problems(&validator, valid), Vec::<String>::new());
    // No `type`: a webservice, whose parameters do not include `schedule`.
    let untyped = "services:\n  web:\n    image: nginx\n    schedule: '* * * * *'\n";
    assert!(
        problems(&validator, untyped)
            .iter()
            .any(|p| p.contains("schedule"))
    );
    // A trait key's value is the trait's parameters.
    let typo = "services:\n  web:\n    image: nginx\n    scaler: {replica: 2}\n";
    let found = problems(&validator, typo);
    assert!(
        found
            .iter()
            .any(|p| p.contains("/services/web/scaler") && p.contains("replica")),
        "{found:?}"
    );
    // A trait named by key with no parameters is accepted, as the reader accepts it.
    let empty = "services:\n  web:\n    image: nginx\n    labels:\n";
    assert_eq!(problems(&validator, empty), Vec::<String>::new());
    let missing_image = "services:\n  web:\n    ports: [{port: 80}]\n";
    assert!(
        problems(&validator, missing_image)
            .iter()
            .any(|p| p.contains("image"))
    );
}

#[test]
fn either_form_selects_by_api_version() {
    let validator = validator(&generate(builtins(), Form::Either).unwrap());
    let appfile = "services:\n  web:\n    image: nginx\n";
    assert_eq!(problems(&validator, appfile), Vec::<String>::new());
    let application = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: a}\nspec:\n  components:\n    - {name: web, type: webservice, properties: {image: nginx}}\n";
    assert_eq!(problems(&validator, application), Vec::<String>::new());
    // With an apiVersion, appfile keys are not an Application's.
    let mixed = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nservices: {}\n";
    assert!(!problems(&validator, mixed).is_empty());
}

/// The repository's application files: the examples and the KubeVela fixtures the
/// end-to-end tests render.
fn application_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![
        root.join("examples/shop/app.yaml"),
        root.join("examples/hello/vela.yaml"),
    ];
    let mut pending = vec![root.join("tests/e2e/fixtures")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Kiln's own verdict on an application file: it reads, its types exist, and its
/// parameters pass their 2020-12 schemas.
fn kiln_accepts(registry: &Registry, sandbox: &Sandbox, text: &str) -> bool {
    let Ok(source) = Source::parse("app.yaml", text) else {
        return false;
    };
    let Ok(app) = Application::from_source(source, &|name: &str| registry.is_trait(name)) else {
        return false;
    };
    let types_exist = app.components.iter().all(|c| {
        registry.kind(&c.type_name) == Some(Kind::Workload)
            && c.traits
                .iter()
                .all(|t| registry.kind(&t.type_name) == Some(Kind::Trait))
    });
    if !types_exist {
        return false;
    }
    let names: BTreeSet<&str> = app
        .components
        .iter()
        .flat_map(|c| {
            std::iter::once(c.type_name.as_str())
                .chain(c.traits.iter().map(|t| t.type_name.as_str()))
        })
        .collect();
    let loaded = registry.load(sandbox, &names).expect("loads");
    loaded.schemas().check_app(&app).is_ok()
}

#[test]
fn the_editor_and_kiln_agree_on_the_repositorys_application_files() {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let registry = Registry::builtin();
    let validator = validator(&generate(builtins(), Form::Either).unwrap());
    let files = application_files();
    assert!(files.len() > 30, "{files:?}");
    let mut accepted = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let Ok(source) = Source::parse("app.yaml", &text) else {
            continue;
        };
        // Fixtures of other kinds (definitions, expected outputs) are not application files.
        let root = source.root().to_json();
        let is_app =
            root.get("kind") == Some(&json!("Application")) || root.get("services").is_some();
        if !is_app {
            continue;
        }
        let kiln = kiln_accepts(&registry, &sandbox, &text);
        let editor = problems(&validator, &text);
        assert_eq!(
            kiln,
            editor.is_empty(),
            "{}: kiln {kiln}, editor {editor:?}",
            file.display()
        );
        accepted += usize::from(kiln);
    }
    assert!(accepted >= 5, "only {accepted} files accepted");
}

#[test]
fn defs_are_hoisted_under_their_definitions_name_so_equal_names_do_not_clash() {
    let with_defs = |value_type: &str| {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": { "mode": { "$ref": "#/$defs/Mode", "description": "How." } },
            "$defs": { "Mode": { "type": value_type } },
        })
    };
    let definitions = [
        definition("one", Kind::Trait, with_defs("string")),
        definition("two", Kind::Trait, with_defs("integer")),
    ];
    let schema = generate(&definitions, Form::Application).unwrap();
    let defs = &schema["definitions"];
    assert_eq!(defs["trait.one.Mode"], json!({ "type": "string" }));
    assert_eq!(defs["trait.two.Mode"], json!({ "type": "integer" }));
    // A `$ref` with siblings becomes an `allOf`: draft-07 ignores a `$ref`'s siblings.
    assert_eq!(
        defs["trait.one"]["properties"]["mode"],
        json!({ "allOf": [{ "$ref": "#/definitions/trait.one.Mode" }], "description": "How.", "markdownDescription": "How." })
    );
    // Checked through the trait alone: the definitions have no component type.
    let trait_validator = jsonschema::draft7::new(&json!({
        "$ref": "#/definitions/trait",
        "definitions": defs,
    }))
    .unwrap();
    assert!(trait_validator.is_valid(&json!({ "type": "one", "properties": { "mode": "fast" } })));
    assert!(!trait_validator.is_valid(&json!({ "type": "two", "properties": { "mode": "fast" } })));
    assert!(trait_validator.is_valid(&json!({ "type": "two", "properties": { "mode": 3 } })));
}

#[test]
fn later_draft_keywords_become_their_draft07_equivalents() {
    let parameters = json!({
        "type": "object",
        "properties": {
            "pair": { "type": "array", "prefixItems": [{ "type": "string" }, { "type": "integer" }], "items": false },
            "flat": {
                "type": "object",
                "allOf": [{ "properties": { "a": { "type": "string" } } }],
                "unevaluatedProperties": false,
            },
            "either": { "type": "object", "dependentRequired": { "a": ["b"] } },
        },
    });
    let schema = generate(
        &[definition("t", Kind::Trait, parameters)],
        Form::Application,
    )
    .unwrap();
    let properties = &schema["definitions"]["trait.t"]["properties"];
    assert_eq!(
        properties["pair"]["items"],
        json!([{ "type": "string" }, { "type": "integer" }])
    );
    assert_eq!(properties["pair"]["additionalItems"], json!(false));
    assert_eq!(properties["flat"]["additionalProperties"], json!(false));
    assert_eq!(properties["flat"]["properties"], json!({ "a": true }));
    assert_eq!(properties["either"]["dependencies"], json!({ "a": ["b"] }));

    let check = jsonschema::draft7::new(&properties["flat"]).unwrap();
    assert!(check.is_valid(&json!({ "a": "x" })));
    assert!(!check.is_valid(&json!({ "a": "x", "b": 1 })));
}

#[test]
fn def_names_that_need_escaping_still_resolve() {
    let parameters = json!({
        "type": "object",
        "properties": { "x": { "$ref": "#/$defs/Wrapper%3CString%3E" }, "y": { "$ref": "#/$defs/a~1b" } },
        "$defs": { "Wrapper<String>": { "type": "string" }, "a/b": { "type": "integer" } },
    });
    let schema = generate(
        &[definition("t", Kind::Trait, parameters)],
        Form::Application,
    )
    .unwrap();
    let check = jsonschema::draft7::new(&json!({
        "$ref": "#/definitions/trait.t",
        "definitions": schema["definitions"],
    }))
    .unwrap();
    assert!(check.is_valid(&json!({ "x": "s", "y": 1 })));
    assert!(!check.is_valid(&json!({ "x": 1 })));
    assert!(!check.is_valid(&json!({ "y": "s" })));
}

#[test]
fn a_schema_that_cannot_be_carried_is_refused_naming_its_definition() {
    let cases = [
        (
            json!({ "$id": "https://example.com/p", "type": "object" }),
            "$id",
        ),
        (
            json!({ "properties": { "a": { "$dynamicRef": "#meta" } } }),
            "$dynamicRef",
        ),
        (
            json!({ "properties": { "a": { "$ref": "https://example.com/other.json" } } }),
            "outside",
        ),
        (
            json!({ "properties": { "a": { "$ref": "#/$defs/Missing" } } }),
            "resolves to nothing",
        ),
        (
            json!({ "properties": { "a": 3 } }),
            "must be an object or a boolean",
        ),
        (json!({ "type": "no-such-type" }), "invalid draft-07 schema"),
    ];
    for (parameters, expected) in cases {
        let error = generate(
            &[definition("broken", Kind::Trait, parameters.clone())],
            Form::Either,
        )
        .expect_err("refused")
        .to_string();
        assert!(error.contains("broken"), "{parameters}: {error}");
        assert!(error.contains(expected), "{parameters}: {error}");
    }
}

#[test]
fn the_schema_is_the_same_every_time() {
    let first = serde_json::to_string(&generate(builtins(), Form::Either).unwrap()).unwrap();
    let second = serde_json::to_string(&generate(builtins(), Form::Either).unwrap()).unwrap();
    assert_eq!(first, second);
}

#[test]
fn a_root_that_is_only_a_reference_is_inlined() {
    let parameters = json!({
        "$ref": "#/$defs/Params",
        "$defs": {
            "Params": { "type": "object", "properties": { "size": { "$ref": "#/$defs/Size" } }, "required": ["size"], "additionalProperties": false },
            "Size": { "type": "integer" },
        },
    });
    let schema = generate(
        &[
            definition(
                "w",
                Kind::Workload,
                json!({"type": "object", "properties": {"image": {"type": "string"}}}),
            ),
            definition("t", Kind::Trait, parameters),
        ],
        Form::Appfile,
    )
    .unwrap();
    let root = &schema["definitions"]["trait.t"];
    assert_eq!(root["title"], "t");
    assert_eq!(
        root["properties"]["size"]["$ref"],
        "#/definitions/trait.t.Size"
    );
    let validator = validator(&schema);
    assert!(
        problems(
            &validator,
            "services:\n  a:\n    type: w\n    image: x\n    t: {size: 1}\n"
        )
        .is_empty()
    );
    assert!(
        !problems(
            &validator,
            "services:\n  a:\n    type: w\n    t: {size: big}\n"
        )
        .is_empty()
    );
}
