use super::*;

#[test]
fn the_budget_is_shared_by_stores_and_given_back_when_they_drop() {
    let budget = MemoryBudget::new(3 << 20);
    let limits = Limits::default();
    let mut a = Meter::new(&limits, budget.clone());
    let mut b = Meter::new(&limits, budget.clone());
    assert!(a.memory_growing(0, 2 << 20, None).unwrap());
    let refused = b.memory_growing(0, 2 << 20, None).unwrap_err();
    assert!(refused.downcast_ref::<Stopped>().is_some());
    let hit = b.take_hit().unwrap();
    assert_eq!(hit.limit, Limit::RenderMemory);
    assert!(hit.detail.contains("limit 3 MiB"), "{}", hit.detail);
    drop(a);
    assert_eq!(budget.used(), 0);
    assert!(b.memory_growing(0, 2 << 20, None).unwrap());
    drop(b);
    assert_eq!(budget.used(), 0);
}

#[test]
fn a_store_refuses_more_core_instances_than_its_cap() {
    use wasmtime::component::{Component, Linker};
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let instantiate = |count: usize| {
        let instances = "(core instance (instantiate $m))".repeat(count);
        let text = format!("(component (core module $m) {instances})");
        let component = Component::new(&engine, wat::parse_str(text).unwrap()).unwrap();
        let meter = Meter::new(&Limits::default(), MemoryBudget::new(usize::MAX));
        let mut store = wasmtime::Store::new(&engine, meter);
        store.limiter(|meter| meter);
        Linker::new(&engine)
            .instantiate(&mut store, &component)
            .map(|_| ())
    };
    instantiate(STORE_INSTANCES).expect("the cap itself is allowed");
    let err = instantiate(STORE_INSTANCES + 1).unwrap_err();
    assert!(format!("{err:#}").contains("instance"), "{err:#}");
}

#[test]
fn records_the_first_limit_hit() {
    let limits = Limits {
        memory: 1 << 20,
        table_elements: 10,
        ..Limits::default()
    };
    let mut meter = Meter::new(&limits, MemoryBudget::new(usize::MAX));
    assert!(meter.memory_growing(0, 2 << 20, None).is_err());
    assert!(meter.table_growing(0, 11, None).is_err());
    let hit = meter.take_hit().unwrap();
    assert_eq!(hit.limit, Limit::Memory);
    assert_eq!(hit.detail, "tried to grow memory to 2 MiB, limit 1 MiB");
    assert!(meter.take_hit().is_none());
}
