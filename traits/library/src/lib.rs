//! Kiln's standard library: every built-in definition in `traits/` as one WebAssembly
//! component of the `kiln:library` world (`sdk/wit/library/`), which `engine/build.rs`
//! builds and embeds in the `kiln` binary.
//!
//! One component instead of one per definition: a render maps, links and instantiates one
//! module however many built-ins an application uses, and the code they all carry
//! (serde_json, schemars, the WIT glue) is in the binary once. Each definition keeps its
//! own crate, folder and tests; with the SDK's `library` feature its export macro
//! exports nothing, and this list exports it by name.

kiln_sdk::export_library! {
    cron_task::__KilnDefinition,
    daemon::__KilnDefinition,
    k8s_objects::__KilnDefinition,
    statefulset::__KilnDefinition,
    task::__KilnDefinition,
    webservice::__KilnDefinition,
    worker::__KilnDefinition,
    affinity::__KilnDefinition,
    annotations::__KilnDefinition,
    command::__KilnDefinition,
    container_image::__KilnDefinition,
    container_ports::__KilnDefinition,
    cpuscaler::__KilnDefinition,
    env::__KilnDefinition,
    expose::__KilnDefinition,
    gateway::__KilnDefinition,
    hostalias::__KilnDefinition,
    hpa::__KilnDefinition,
    init_container::__KilnDefinition,
    json_merge_patch::__KilnDefinition,
    json_patch::__KilnDefinition,
    k8s_update_strategy::__KilnDefinition,
    labels::__KilnDefinition,
    lifecycle::__KilnDefinition,
    podsecuritycontext::__KilnDefinition,
    pure_ingress::__KilnDefinition,
    resource::__KilnDefinition,
    scaler::__KilnDefinition,
    securitycontext::__KilnDefinition,
    service_account::__KilnDefinition,
    sidecar::__KilnDefinition,
    startup_probe::__KilnDefinition,
    storage::__KilnDefinition,
    topologyspreadconstraints::__KilnDefinition,
    disallow_latest_tag::__KilnDefinition,
    disallow_privileged::__KilnDefinition,
    require_labels::__KilnDefinition,
    require_resources::__KilnDefinition,
}
