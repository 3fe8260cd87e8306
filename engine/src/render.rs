//! The pipeline: for each component, its workload, then its traits in order (each seeing the
//! workload as patched so far and the outputs so far), then the labels contract, names and
//! namespaces. Components render in parallel; the output order is fixed (components in file
//! order; within one, the workload, its auxiliaries, then each trait's outputs).
//!
//! Nothing here reaches back: the app model is read-only, modules only compute, and every
//! merge is the host's ([`crate::patch`]).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde_json::Value;

use crate::app::yaml::Segment;
use crate::app::{Application, Component, TraitUse, dotted, key, parse_field};
use crate::definitions::{Kind, Loaded, Registry};
use crate::error::{Error, Result, Site};
use crate::manifest::{self, Object, Origin};
use crate::patch::trace::{Contributor, DefinitionId, Stage, Trace};
use crate::patch::{self, Owners, Patch, PatchError};
use crate::platform::PolicyUse;
use crate::sandbox::{CallError, Instances, Module, Sandbox, wit};

/// The Kubernetes version rendered for, when none is given: a current release, not
/// KubeVela CLI's minor 0.
pub const DEFAULT_CLUSTER_VERSION: ClusterVersion = ClusterVersion {
    major: 1,
    minor: 31,
    patch: 0,
};

/// A Kubernetes version (`1.29`, `v1.29.3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClusterVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl std::str::FromStr for ClusterVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad =
            || format!("\"{text}\" is not a Kubernetes version (expected e.g. 1.29 or v1.29.3)");
        let trimmed = text.trim().trim_start_matches('v');
        // Providers append build metadata: 1.29.3-gke.1, 1.29.3+k3s1.
        let core = trimmed.split(['-', '+']).next().unwrap_or_default();
        let mut parts = core.split('.');
        let mut number = |required: bool| -> Result<u32, String> {
            match parts.next() {
                Some(p) => p.parse().map_err(|_| bad()),
                None if required => Err(bad()),
                None => Ok(0),
            }
        };
        let version = ClusterVersion {
            major: number(true)?,
            minor: number(true)?,
            patch: number(false)?,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(version)
    }
}

/// The `group/version` entries of Argo CD's `KUBE_API_VERSIONS` (which lists both
/// `apps/v1` and `apps/v1/Deployment`), sorted and without duplicates.
pub fn parse_api_versions(text: &str) -> Vec<String> {
    let mut versions: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .filter(|v| {
            // `v1` and `group/v1`; not `group/v1/Kind` or `v1/Kind`.
            let parts: Vec<&str> = v.split('/').collect();
            match parts.as_slice() {
                [version] => version.starts_with('v'),
                [_, version] => version.starts_with('v'),
                _ => false,
            }
        })
        .map(str::to_string)
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

impl fmt::Display for ClusterVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The components a chunk is cut to hold at least, once an application has two. Instances
/// are made once per chunk and module (7 modules cost ~0.85 ms of CPU, 50 components ~14
/// ms), and chunks run in parallel. Argo CD's repository server renders many applications
/// at once, so the CPU a render spends counts as much as its wall time: 100 components in 2
/// chunks took 22.7 ms on 2 cores, in 7 chunks 25.4 ms (see docs/performance.md).
const MIN_COMPONENTS_PER_CHUNK: usize = 50;

/// Applications this small render in one chunk: splitting them would cost more
/// instantiations than it saves.
const MIN_COMPONENTS_TO_SPLIT: usize = 16;

/// The most chunks an application is cut into: enough to keep 16 threads busy. Beyond
/// that, a bigger chunk pays fewer instantiations (each ~120 µs of CPU, mostly page faults
/// and the unmapping of its memory): 229 → 200 ms for 1,000 components on 2 cores (see
/// docs/performance.md).
const MAX_CHUNKS: usize = 16;

/// How many components share instances, for an application of `components`.
///
/// The number of chunks is a power of two (so that 2, 4, 8 or 16 threads get equal shares),
/// as many as hold [`MIN_COMPONENTS_PER_CHUNK`] but at least two once the application has
/// [`MIN_COMPONENTS_TO_SPLIT`] (a second core should not wait on one chunk), at most
/// [`MAX_CHUNKS`]. It depends on nothing but the application, never on the number of
/// threads: which calls share an instance must be the same on every machine (see
/// `Instances`).
fn chunk_size(components: usize) -> usize {
    if components < MIN_COMPONENTS_TO_SPLIT {
        return components.max(1);
    }
    let fit = (components / MIN_COMPONENTS_PER_CHUNK).max(2);
    let chunks = (1 << fit.ilog2()).min(MAX_CHUNKS);
    components.div_ceil(chunks)
}

/// What a render may vary by, besides the application.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Overrides the application's namespace.
    pub namespace: Option<String>,
    pub cluster_version: ClusterVersion,
    /// The API group/versions the cluster serves (`KUBE_API_VERSIONS`); empty when unknown.
    pub api_versions: Vec<String>,
    /// The application revision (`app.oam.dev/appRevision`); empty when unknown.
    pub revision: String,
    /// The platform's guardrail policies, run on the final object set.
    pub policies: Vec<PolicyUse>,
    /// Write each object in this format as soon as it is final, and keep it only as text
    /// ([`manifest::Object::serialize`]); [`manifest::write`] must then be given the same
    /// format. Ignored when there are policies: they read and mutate the values.
    pub serialize: Option<manifest::Format>,
    /// Record who set each field of each object ([`manifest::Object::trace`]): each
    /// change is compared with the object before it, so it costs a copy per change. Off,
    /// nothing is copied.
    pub trace: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            namespace: None,
            cluster_version: DEFAULT_CLUSTER_VERSION,
            api_versions: Vec::new(),
            revision: String::new(),
            policies: Vec::new(),
            serialize: None,
            trace: false,
        }
    }
}

/// The result of a render: objects in output order, and warnings from definitions.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub objects: Vec<Object>,
    pub warnings: Vec<String>,
}

/// Renders every component of `app` with the definitions of `registry`: the objects in
/// output order, and the namespace they were rendered for. The platform's policies are
/// the next stage's ([`crate::pipeline::render_app`]).
pub fn render_components(
    sandbox: &Sandbox,
    registry: &Registry,
    app: &Application,
    options: &RenderOptions,
) -> Result<(Rendered, String)> {
    let names = resolve(registry, app)?;
    let modules = registry.load_modules(sandbox, &names)?;
    let namespace = options
        .namespace
        .clone()
        .or_else(|| app.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    // The parameters are checked while the modules run, on the core a small application
    // leaves idle (compiling the schemas is most of a one-component render's loading): the
    // check's verdict comes first, and calls made on parameters it refuses are discarded.
    // Once it has refused them, no further call starts.
    let refused = AtomicBool::new(false);
    let (checked, results) = rayon::join(
        || {
            let checked = registry
                .compile_schemas(&modules)
                .and_then(|schemas| schemas.check_app(app));
            refused.store(checked.is_err(), Ordering::Relaxed);
            checked
        },
        || render_chunks(sandbox, &modules, app, &namespace, options, &refused),
    );
    checked?;

    let mut rendered = Rendered::default();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(part) => {
                rendered.objects.extend(part.objects);
                rendered.warnings.extend(part.warnings);
            }
            Err(Error::Many(list)) => errors.extend(list),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(Error::Many(errors)),
    }
    refuse_shared_identities(app, &rendered.objects)?;
    Ok((rendered, namespace))
}

/// Refuses objects of one identity rendered by two components: Argo CD would apply only
/// the last one. (Within a component they are merged: see `merge_same_identity`.)
fn refuse_shared_identities(app: &Application, objects: &[Object]) -> Result<()> {
    let mut seen: std::collections::HashMap<&str, &Object> = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for object in objects {
        let Some(id) = object.identity.as_deref() else {
            continue;
        };
        match seen.get(id) {
            Some(first) if first.component != object.component => {
                let component = app.components.iter().find(|c| c.name == object.component);
                let site = match component {
                    Some(c) => app.source.site_of(&c.path, c.position),
                    None => app.source.site(&[]),
                };
                errors.push(Error::Invalid {
                    site: Box::new(Site {
                        component: Some(object.component.clone()),
                        ..site
                    }),
                    message: format!(
                        "{} of component \"{}\" and {} of component \"{}\" are the same \
                         object {id} (group/kind/namespace/name); Argo CD would apply only one \
                         of them",
                        producer(&first.origin),
                        first.component,
                        producer(&object.origin),
                        object.component
                    ),
                });
            }
            Some(_) => {}
            None => {
                seen.insert(id, object);
            }
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Many(errors)),
    }
}

/// Who rendered an object of this origin, for messages.
fn producer(origin: &Origin) -> String {
    match origin {
        Origin::Workload { type_name } => format!("the workload (\"{type_name}\")"),
        Origin::Auxiliary { resource } => format!("the workload's output \"{resource}\""),
        Origin::Trait {
            trait_type,
            resource,
        } => format!("trait \"{trait_type}\"'s output \"{resource}\""),
    }
}

/// Renders every component of `app`, in chunks, until `stop` is set.
fn render_chunks(
    sandbox: &Sandbox,
    modules: &Loaded,
    app: &Application,
    namespace: &str,
    options: &RenderOptions,
    stop: &AtomicBool,
) -> Vec<Result<Rendered>> {
    // Chunks of a size set by the application, not one per thread: which calls share an
    // instance must not depend on the number of threads (see `Instances`).
    app.components
        .par_chunks(chunk_size(app.components.len()))
        .flat_map_iter(|chunk| {
            let mut instances = sandbox.instances();
            chunk
                .iter()
                .take_while(|_| !stop.load(Ordering::Relaxed))
                .map(|component| {
                    let job = ComponentJob {
                        modules,
                        app,
                        component,
                        namespace,
                        options,
                    };
                    job.render(&mut instances)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Checks `app` as a render does before it runs a definition: every component type and
/// trait names a definition of its kind, and every property passes its definition's
/// parameter schema. What `kiln convert` asks of an application before it rewrites it.
pub fn check(sandbox: &Sandbox, registry: &Registry, app: &Application) -> Result<()> {
    let names = resolve(registry, app)?;
    let loaded = registry.load(sandbox, &names)?;
    loaded.schemas().check_app(app)
}

/// Checks that every type and trait names a definition of the right kind; returns the
/// names to load. Reports every unknown name at once.
fn resolve<'a>(registry: &Registry, app: &'a Application) -> Result<BTreeSet<&'a str>> {
    let mut names = BTreeSet::new();
    let mut errors = Vec::new();
    let mut check =
        |name: &'a str, kind: Kind, path: &[Segment], component: &Component| match registry
            .kind(name)
        {
            Some(k) if k == kind => {
                names.insert(name);
            }
            found => {
                let site = Box::new(Site {
                    component: Some(component.name.clone()),
                    field: Some(dotted(path)),
                    ..app.source.site(path)
                });
                let unavailable =
                    crate::definitions::unavailable_reason(name).filter(|_| found.is_none());
                errors.push(match found {
                    Some(other) => Error::Invalid {
                        site,
                        message: format!("\"{name}\" is a {other}, not a {kind}"),
                    },
                    None if unavailable.is_some() => Error::Invalid {
                        site,
                        message: format!(
                            "KubeVela's \"{name}\" is not available in Kiln: {}",
                            unavailable.unwrap_or_default()
                        ),
                    },
                    None => Error::UnknownDefinition {
                        site,
                        kind: match kind {
                            Kind::Workload => "component type",
                            Kind::Trait => "trait",
                            Kind::Policy => "policy",
                        },
                        name: name.to_string(),
                        suggestion: registry.suggest(name, kind),
                        known: registry.names_of(kind),
                    },
                });
            }
        };
    for component in &app.components {
        // In an appfile without `type`, this points at the service itself.
        let type_path = key(&component.path, "type");
        check(&component.type_name, Kind::Workload, &type_path, component);
        for t in &component.traits {
            let path = if t.path == t.properties_path {
                t.path.clone() // appfile: the trait's key
            } else {
                key(&t.path, "type")
            };
            check(&t.type_name, Kind::Trait, &path, component);
        }
    }
    match errors.len() {
        0 => Ok(names),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Many(errors)),
    }
}

/// One component's render.
struct ComponentJob<'a> {
    modules: &'a Loaded,
    app: &'a Application,
    component: &'a Component,
    namespace: &'a str,
    options: &'a RenderOptions,
}

/// An object being built, with who set its fields.
struct Draft {
    name: String,
    object: Value,
    owners: Owners,
    origin: Origin,
    /// `object` as JSON text, kept between trait calls until a patch changes it: every
    /// trait is sent every output so far, and most never change them.
    text: Option<String>,
    /// Who set its fields, when the render traces.
    provenance: Option<Trace>,
}

/// The trace of `object`, made by `creator`: some when the render traces.
fn created(object: &Value, creator: Option<&Arc<Contributor>>) -> Option<Trace> {
    let creator = creator?;
    let mut trace = Trace::default();
    trace.created(object, creator);
    Some(trace)
}

impl Draft {
    /// The object as JSON text, as sent to a trait.
    fn text(&mut self) -> String {
        self.text
            .get_or_insert_with(|| json_text(&self.object))
            .clone()
    }

    /// Applies `patch` on behalf of `owner`, recorded as `by`'s step when tracing.
    fn apply(
        &mut self,
        patch: &Patch,
        owner: &str,
        by: Option<&Arc<Contributor>>,
    ) -> Result<(), PatchError> {
        self.text = None;
        let trace = match (&mut self.provenance, by) {
            (Some(trace), Some(by)) => Some((trace, by)),
            _ => None,
        };
        patch::apply_traced(&mut self.object, patch, owner, &mut self.owners, trace)
    }
}

impl ComponentJob<'_> {
    fn render(&self, instances: &mut Instances<'_>) -> Result<Rendered> {
        let c = self.component;
        let workload_module = self.module(&c.type_name);
        let context = self.context();
        let request = wit::RenderRequest {
            parameters: properties_json(&c.properties),
            context: context.clone(),
            workload: None,
            outputs: Vec::new(),
        };
        let mut warnings = Vec::new();
        let site = self.site(None);
        let response = self.call(
            instances,
            workload_module,
            &request,
            &site,
            &c.properties_path,
            &mut warnings,
        )?;
        let creator = format!("component type \"{}\"", c.type_name);
        let workload_by = self.contributor(Stage::Workload, workload_module, &c.properties_path);
        let Some(output) = &response.output else {
            return Err(self.bad_output(
                workload_module,
                &site,
                "a workload must return an output object",
            ));
        };
        let workload = self.object(workload_module, &site, output, "output")?;
        let mut workload = Draft {
            name: "output".into(),
            owners: Owners::new(creator.clone()),
            provenance: created(&workload, workload_by.as_ref()),
            object: workload,
            origin: Origin::Workload {
                type_name: c.type_name.clone(),
            },
            text: None,
        };
        let mut auxiliaries: Vec<Draft> = Vec::new();
        for named in &response.outputs {
            let object = self.object(workload_module, &site, &named.object, &named.name)?;
            auxiliaries.push(Draft {
                name: named.name.clone(),
                provenance: created(&object, workload_by.as_ref()),
                object,
                owners: Owners::new(creator.clone()),
                origin: Origin::Auxiliary {
                    resource: named.name.clone(),
                },
                text: None,
            });
        }

        for (index, t) in c.traits.iter().enumerate() {
            let module = self.module(&t.type_name);
            let site = self.site(Some(t));
            self.check_trait_fits(workload_module, module, t, &site)?;
            let request = wit::RenderRequest {
                parameters: properties_json(&t.properties),
                context: context.clone(),
                workload: Some(workload.text()),
                outputs: auxiliaries
                    .iter_mut()
                    .map(|d| wit::NamedObject {
                        name: d.name.clone(),
                        object: d.text(),
                    })
                    .collect(),
            };
            let response = self.call(
                instances,
                module,
                &request,
                &site,
                &t.properties_path,
                &mut warnings,
            )?;
            let owner = if c.traits[..index].iter().any(|u| u.type_name == t.type_name) {
                format!("trait \"{}\" (#{})", t.type_name, index + 1)
            } else {
                format!("trait \"{}\"", t.type_name)
            };
            if response.output.is_some() {
                return Err(self.bad_output(
                    module,
                    &site,
                    "a trait returns outputs and patches, not an output",
                ));
            }
            let by = self.contributor(Stage::Trait, module, &t.properties_path);
            if let Some(p) = &response.patch {
                let p = self.patch(module, &site, p)?;
                workload
                    .apply(&p, &owner, by.as_ref())
                    .map_err(|e| self.patch_error(module, &site, e, "the workload"))?;
            }
            for op in &response.patch_outputs {
                let p = self.patch(module, &site, &op.patch)?;
                let Some(target) = auxiliaries.iter_mut().rev().find(|d| d.name == op.name) else {
                    return Err(self.bad_output(
                        module,
                        &site,
                        &format!(
                            "patchOutputs names \"{}\", which no earlier definition output",
                            op.name
                        ),
                    ));
                };
                target.apply(&p, &owner, by.as_ref()).map_err(|e| {
                    self.patch_error(module, &site, e, &format!("output \"{}\"", op.name))
                })?;
            }
            for named in &response.outputs {
                let object = self.object(module, &site, &named.object, &named.name)?;
                auxiliaries.push(Draft {
                    name: named.name.clone(),
                    provenance: created(&object, by.as_ref()),
                    object,
                    owners: Owners::new(owner.clone()),
                    origin: Origin::Trait {
                        trait_type: t.type_name.clone(),
                        resource: named.name.clone(),
                    },
                    text: None,
                });
            }
        }

        let labels = manifest::Labels {
            app_name: &self.app.name,
            component: &c.name,
            namespace: self.namespace,
            revision: &self.options.revision,
            app_labels: &self.app.labels,
            app_annotations: &self.app.annotations,
        };
        let serialize = self
            .options
            .serialize
            // Policies read and mutate the values; a trace is written from them too.
            .filter(|_| self.options.policies.is_empty() && !self.options.trace);
        let site = self.site(None);
        let drafts = flatten_lists(std::iter::once(workload).chain(auxiliaries), &site)?;
        let drafts = merge_same_identity(drafts, self.namespace, &site)?;
        let host = self.host_contributor();
        let objects = drafts
            .into_iter()
            .map(|draft| {
                let before = draft.provenance.as_ref().map(|_| draft.object.clone());
                let mut object = manifest::finish(draft.object, draft.origin, &labels);
                if let (Some(mut trace), Some(before), Some(host)) =
                    (draft.provenance, before, &host)
                {
                    trace.record(&before, &object.value, host);
                    object.trace = Some(trace);
                }
                if let Some(format) = serialize {
                    object.serialize(format);
                }
                object
            })
            .collect();
        Ok(Rendered { objects, warnings })
    }

    fn module(&self, name: &str) -> &Arc<Module> {
        self.modules
            .get(name)
            .expect("resolve() loaded every definition the app names")
    }

    /// `module` at `stage`, with the application file's position of `properties`: who a
    /// trace says made a change. None when the render does not trace.
    fn contributor(
        &self,
        stage: Stage,
        module: &Module,
        properties: &[Segment],
    ) -> Option<Arc<Contributor>> {
        if !self.options.trace {
            return None;
        }
        let site = self.app.source.site(properties);
        Some(Arc::new(Contributor {
            stage,
            definition: Some(definition_id(module)),
            source: location(&site),
        }))
    }

    /// The host, for the labels, name and namespace it sets on every object.
    fn host_contributor(&self) -> Option<Arc<Contributor>> {
        self.options.trace.then(|| {
            let site = self
                .app
                .source
                .site_of(&self.component.path, self.component.position);
            Arc::new(Contributor {
                stage: Stage::Host,
                definition: None,
                source: location(&site),
            })
        })
    }

    fn context(&self) -> wit::Context {
        wit_context(self.app, self.namespace, Some(self.component), self.options)
    }

    /// The site of the component, or of one of its traits.
    fn site(&self, t: Option<&TraitUse>) -> Site {
        let (path, position) = match t {
            Some(t) => (&t.path, t.position),
            None => (&self.component.path, self.component.position),
        };
        Site {
            component: Some(self.component.name.clone()),
            trait_name: t.map(|t| t.type_name.clone()),
            ..self.app.source.site_of(path, position)
        }
    }

    fn check_trait_fits(
        &self,
        workload: &Module,
        module: &Module,
        t: &TraitUse,
        site: &Site,
    ) -> Result<()> {
        let applies = &module.metadata.applies_to;
        let workload_type = workload.metadata.workload_type.as_deref();
        let fits = applies.is_empty()
            || applies.iter().any(|a| {
                a == "*" || *a == self.component.type_name || Some(a.as_str()) == workload_type
            });
        if !fits {
            return Err(Error::Invalid {
                site: Box::new(site.clone()),
                message: format!(
                    "trait \"{}\" does not apply to component type \"{}\"{}; it applies to: {}",
                    t.type_name,
                    self.component.type_name,
                    workload_type.map(|w| format!(" ({w})")).unwrap_or_default(),
                    applies.join(", ")
                ),
            });
        }
        for other in &self.component.traits {
            if module.metadata.conflicts_with.contains(&other.type_name) {
                return Err(Error::Invalid {
                    site: Box::new(site.clone()),
                    message: format!(
                        "trait \"{}\" conflicts with trait \"{}\" on the same component",
                        t.type_name, other.type_name
                    ),
                });
            }
        }
        Ok(())
    }

    fn call(
        &self,
        instances: &mut Instances<'_>,
        module: &Module,
        request: &wit::RenderRequest,
        site: &Site,
        properties_path: &[Segment],
        warnings: &mut Vec<String>,
    ) -> Result<wit::RenderResponse> {
        let result = instances
            .render(module, request)
            .map_err(|e| call_error(e, site, &module.name))?;
        match result {
            Ok(response) => {
                for d in &response.diagnostics {
                    let site = self.diagnostic_site(site, properties_path, d.field.as_deref());
                    warnings.push(format!("{site}warning: {}", d.message));
                }
                Ok(response)
            }
            Err(diagnostics) => {
                let mut errors: Vec<Error> = diagnostics
                    .iter()
                    .map(|d| Error::Parameter {
                        site: Box::new(self.diagnostic_site(
                            site,
                            properties_path,
                            d.field.as_deref(),
                        )),
                        message: d.message.clone(),
                    })
                    .collect();
                Err(match errors.len() {
                    0 => Error::Parameter {
                        site: Box::new(site.clone()),
                        message: format!("definition \"{}\" failed without a message", module.name),
                    },
                    1 => errors.remove(0),
                    _ => Error::Many(errors),
                })
            }
        }
    }

    /// Where a module's diagnostic points: the parameter's line when the field is given.
    fn diagnostic_site(
        &self,
        site: &Site,
        properties_path: &[Segment],
        field: Option<&str>,
    ) -> Site {
        let Some(field) = field else {
            return site.clone();
        };
        let mut path = properties_path.to_vec();
        path.extend(parse_field(field));
        Site {
            field: Some(field.to_string()),
            position: self.app.source.site(&path).position,
            ..site.clone()
        }
    }

    fn object(&self, module: &Module, site: &Site, text: &str, what: &str) -> Result<Value> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| self.bad_output(module, site, &format!("{what} is not JSON: {e}")))?;
        manifest::check_object(&value)
            .map_err(|message| self.bad_output(module, site, &format!("{what} {message}")))?;
        Ok(value)
    }

    fn patch(&self, module: &Module, site: &Site, p: &wit::Patch) -> Result<Patch> {
        patch_from_wit(p)
            .map_err(|e| self.bad_output(module, site, &format!("the patch is not JSON: {e}")))
    }

    fn patch_error(&self, module: &Module, site: &Site, e: PatchError, target: &str) -> Error {
        match e {
            conflict @ PatchError::Conflict { .. } => Error::Conflict {
                site: Box::new(site.clone()),
                conflict: Box::new(conflict),
            },
            // Often the user's own operations (json-patch), so not "invalid output".
            PatchError::Invalid(message) => Error::Invalid {
                site: Box::new(site.clone()),
                message: format!(
                    "the patch of definition \"{}\" cannot be applied to {target}: {message}",
                    module.name
                ),
            },
        }
    }

    fn bad_output(&self, module: &Module, site: &Site, message: &str) -> Error {
        Error::BadOutput {
            site: Box::new(site.clone()),
            module: module.name.clone(),
            message: message.to_string(),
        }
    }
}

/// Replaces every object that Argo CD would read as a list by its items, as Argo CD does:
/// it applies the items of any object whose `items` is an array one by one, and drops one
/// whose `items` is null and that has no `spec` or `status`
/// (`reposerver/repository/repository.go`, `GenerateManifests`: `case obj.IsList():` then
/// `EachListItem`, `case isNullList(obj): // noop`; apimachinery's `Unstructured.IsList`
/// is exactly "`items` is an array"). Left wrapped, the items would reach the cluster
/// without Kiln's labels and unseen by the platform's policies. Each item becomes an
/// object of its own with the list's origin; an item that is not an object, or is a list
/// again, is refused.
fn flatten_lists(drafts: impl Iterator<Item = Draft>, site: &Site) -> Result<Vec<Draft>> {
    let mut out = Vec::new();
    for draft in drafts {
        let object = &draft.object;
        let null_list = matches!(object.get("items"), Some(Value::Null))
            && object.get("spec").is_none()
            && object.get("status").is_none();
        if null_list {
            continue;
        }
        let Some(Value::Array(items)) = draft.object.get("items") else {
            out.push(draft);
            continue;
        };
        let producer = draft.owners.creator().to_string();
        for (i, item) in items.iter().enumerate() {
            let refuse = |message: String| Error::Invalid {
                site: Box::new(site.clone()),
                message: format!(
                    "{producer} returned a list (\"{}\"), which Argo CD applies item by item; \
                     its item {i} {message}",
                    draft.name
                ),
            };
            manifest::check_object(item).map_err(refuse)?;
            if manifest::is_list(item) {
                return Err(refuse(
                    "is a list again, which Argo CD does not apply".into(),
                ));
            }
            out.push(Draft {
                name: format!("{}[{i}]", draft.name),
                object: item.clone(),
                owners: Owners::new(producer.clone()),
                origin: draft.origin.clone(),
                text: None,
                provenance: draft
                    .provenance
                    .as_ref()
                    .map(|trace| trace.under(&format!("/items/{i}"))),
            });
        }
    }
    Ok(out)
}

/// Merges objects of one identity (group, kind, namespace and name), which Argo CD would
/// apply one over the other (keeping the last, with a `RepeatedResourceWarning`): the later
/// is merged into the first by the host's strategic merge, and a field the two set
/// differently is a conflict naming both producers. The first keeps its place and origin.
fn merge_same_identity(drafts: Vec<Draft>, namespace: &str, site: &Site) -> Result<Vec<Draft>> {
    if drafts.len() < 2 {
        return Ok(drafts);
    }
    let mut out: Vec<Draft> = Vec::with_capacity(drafts.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for draft in drafts {
        let Some(id) = manifest::identity(&draft.object, namespace) else {
            out.push(draft);
            continue;
        };
        let Some(&first) = seen.get(&id) else {
            seen.insert(id, out.len());
            out.push(draft);
            continue;
        };
        let target = &mut out[first];
        let owner = draft.owners.creator().to_string();
        // The merged object brings its own steps (its workload's, its traits'), not one
        // step of the merge: the patch is applied untraced and its history absorbed.
        let history = draft.provenance;
        target
            .apply(&Patch::Merge(draft.object), &owner, None)
            .map_err(|e| match e {
                conflict @ PatchError::Conflict { .. } => Error::Conflict {
                    site: Box::new(Site {
                        field: None,
                        ..site.clone()
                    }),
                    conflict: Box::new(conflict),
                },
                PatchError::Invalid(message) => Error::Invalid {
                    site: Box::new(site.clone()),
                    message: format!(
                        "{owner} returned {id} again, and it cannot be merged: {message}"
                    ),
                },
            })?;
        if let (Some(trace), Some(history)) = (&mut target.provenance, history) {
            trace.absorb(history);
        }
    }
    Ok(out)
}

/// `module` as a trace names it: name, version and the sha256 of its bytes.
pub(crate) fn definition_id(module: &Module) -> DefinitionId {
    DefinitionId {
        name: module.name.clone(),
        version: module.metadata.version.clone(),
        sha256: crate::digest::hex(&module.digest),
    }
}

/// `file:line:column` of `site`, as a trace names where properties are.
pub(crate) fn location(site: &Site) -> Option<String> {
    let file = site.file.as_ref()?;
    Some(match site.position {
        Some((line, column)) => format!("{file}:{line}:{column}"),
        None => file.clone(),
    })
}

/// A component's or trait's properties as the JSON text sent to its definition.
fn properties_json(properties: &serde_json::Map<String, Value>) -> String {
    json_text(properties)
}

/// `value` as compact JSON text. Written straight into the string's bytes: `Value`'s
/// `Display` goes through `fmt`'s machinery, which made sending the workload to each
/// trait ~5 % of a large render's CPU. A JSON value or map always serialises (its keys are
/// strings), so the fallback is never taken.
fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

pub(crate) fn call_error(e: CallError, site: &Site, module: &str) -> Error {
    match e {
        CallError::Limit { limit, detail } => Error::LimitExceeded {
            site: Box::new(site.clone()),
            module: module.to_string(),
            limit,
            detail,
        },
        CallError::Trap { message, backtrace } => Error::Trap {
            site: Box::new(site.clone()),
            module: module.to_string(),
            message,
            backtrace,
        },
    }
}

/// A patch as a module returned it (JSON text) parsed.
pub(crate) fn patch_from_wit(p: &wit::Patch) -> serde_json::Result<Patch> {
    Ok(match p {
        wit::Patch::Merge(t) => Patch::Merge(serde_json::from_str(t)?),
        wit::Patch::JsonMergePatch(t) => Patch::JsonMergePatch(serde_json::from_str(t)?),
        wit::Patch::JsonPatch(t) => Patch::JsonPatch(serde_json::from_str(t)?),
    })
}

/// The `context` of a render call for `component` (empty for a policy's call).
pub(crate) fn wit_context(
    app: &Application,
    namespace: &str,
    component: Option<&Component>,
    options: &RenderOptions,
) -> wit::Context {
    let v = options.cluster_version;
    wit::Context {
        app_name: app.name.clone(),
        namespace: namespace.to_string(),
        component_name: component.map(|c| c.name.clone()).unwrap_or_default(),
        component_type: component.map(|c| c.type_name.clone()).unwrap_or_default(),
        app_revision: options.revision.clone(),
        cluster_version: wit::ClusterVersion {
            major: v.major,
            minor: v.minor,
            git_version: v.to_string(),
        },
        api_versions: options.api_versions.clone(),
        app_labels: app.labels.clone().into_iter().collect(),
        app_annotations: app.annotations.clone().into_iter().collect(),
    }
}

#[cfg(test)]
mod tests;
