"""The module arrows: what each target imports equals what Package.swift declares, and both equal the
arrows written in the README's Architecture section (so the diagram cannot drift from the code)."""
import json
import pathlib
import re
import subprocess

from conftest import REPO

IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public |package |internal |private |fileprivate )?import\s+(\w+)", re.M)


def package():
    out = subprocess.run(["swift", "package", "dump-package"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def internal_arrows():
    """target -> (declared internal dependencies, imported internal modules)."""
    pkg = package()
    names = {t["name"] for t in pkg["targets"]}
    arrows = {}
    for t in pkg["targets"]:
        if t["type"] not in ("regular", "executable") or t["name"] in ("CEngramKernels", "EngramSchemas"):
            continue
        declared = set()
        for dep in t["dependencies"]:
            kind = next(iter(dep))
            name = dep[kind][0]
            if name in names:
                declared.add(name)
        root = REPO / (t.get("path") or f"Sources/{t['name']}")
        imported = set()
        for f in root.rglob("*.swift"):
            imported |= {m for m in IMPORT.findall(f.read_text()) if m in names}
        arrows[t["name"]] = (declared, imported)
    return arrows


def readme_arrows():
    text = (REPO / "README.md").read_text()
    block = text.split("Module arrows", 1)[1].split("```", 2)[1]
    arrows = {}
    for line in block.strip().splitlines():
        source, _, targets = line.partition("→")
        arrows[source.strip()] = {t.strip() for t in targets.split(",") if t.strip() and t.strip() != "(none)"}
    return arrows


# The modules only the command-line tools link: configuration, the runtime they open, operations on the
# metadata, imports, the client side, and the benchmarks. The serving modules never import them.
COMMAND_SIDE = {"engram", "EngramConfig", "EngramRuntime", "EngramOperations", "EngramImport", "EngramClientKit",
                "engram-bench", "EngramBenchKit"}
# The domain: it reaches metadata through `MetadataStore` only.
DOMAIN = ("EngramMemoryModel", "EngramMemory", "EngramLifecycle", "EngramAccounts")


def test_imports_match_declared_dependencies():
    for target, (declared, imported) in internal_arrows().items():
        assert imported == declared, f"{target}: declared but not imported {declared - imported}; imported but not declared {imported - declared}"


def test_readme_arrows_match_the_code():
    code = {target: imported for target, (_, imported) in internal_arrows().items()}
    documented = readme_arrows()
    assert set(documented) == set(code), f"modules: README {sorted(documented)} vs code {sorted(code)}"
    for target in code:
        assert documented[target] == code[target], f"{target}: README says {sorted(documented[target])}, code imports {sorted(code[target])}"


def test_the_engine_never_sees_http():
    code = {target: imported for target, (_, imported) in internal_arrows().items()}
    engines = ("EngramCore", "EngramKernels", "EngramStoreModel", "EngramSegments", "EngramStore", "EngramAtRest", "EngramBackup",
               "EngramSearch", "EngramSecrets", "EngramPoisoningCore", "EngramHarmfulDirectives", "EngramPoisoning", "EngramEmbedding",
               "EngramAuth", "EngramPostgres", "EngramPostgresSchema") + DOMAIN
    for engine in engines:
        assert engine in code, engine
        assert not code[engine] & {"EngramServer", "EngramHTTP", "EngramMCP", "EngramHTTPEdge", "EngramQdrantAPI"}, engine


def test_the_serving_modules_never_import_the_command_side():
    """What `engram serve` runs (the domain, HTTP, MCP, the Qdrant API) is built without the command
    line's configuration, runtime, operations or benchmarks: the arrows point from the commands down."""
    code = {target: imported for target, (_, imported) in internal_arrows().items()}
    assert COMMAND_SIDE <= set(code)
    for target, imported in code.items():
        if target not in COMMAND_SIDE:
            assert not imported & COMMAND_SIDE, f"{target} imports {sorted(imported & COMMAND_SIDE)}"
    assert not code["engram"] & {"engram-bench", "EngramBenchKit"}


def test_the_unscoped_postgres_path_is_for_tests_only():
    """EngramPostgres's `@_spi(Testing)` queries skip the tenant settings (the attack tests use them); no
    shipped module may import that SPI."""
    offenders = [str(f.relative_to(REPO)) for f in (REPO / "Sources").rglob("*.swift")
                 if re.search(r"@_spi\(Testing\)\s+(?:public |package |internal )?import\s+EngramPostgres", f.read_text())]
    assert not offenders, offenders


def test_the_postgres_store_implements_the_seam_alone():
    """EngramPostgres implements `MetadataStore` on EngramMetadata's types only: it never imports the SQLite
    engine (EngramDatabase) nor the domain, so the seal identities it shares come from EngramMetadata."""
    code = {target: imported for target, (_, imported) in internal_arrows().items()}
    assert "EngramMetadata" in code["EngramPostgres"]
    assert not code["EngramPostgres"] & {"EngramDatabase", "EngramMemory", "EngramStore"}


def test_the_domain_reaches_metadata_through_the_seam():
    """EngramMetadata (row types, TenantScope, the query protocols, MetadataStore) depends on nothing, and
    the domain modules name no SQLite record type and do not import EngramDatabase: they reach the metadata
    through `MetadataStore` and encryption at rest through `RecordSealing` only."""
    code = {target: imported for target, (_, imported) in internal_arrows().items()}
    assert code["EngramMetadata"] == set()
    assert "EngramMetadata" in code["EngramMemory"] and "EngramMetadata" in code["EngramDatabase"]
    records = re.compile(r"\b(?:Member|Account|OAuth|Audit|Lifecycle)(?:Records|Transaction)\b|\bEngramDatabase\b(?!\s*$)")
    for module in DOMAIN:
        assert "EngramDatabase" not in code[module], module
        root = REPO / "Sources" / module
        for f in root.rglob("*.swift"):
            code_lines = [l for l in f.read_text().splitlines() if not l.strip().startswith(("//", "import", "public import", "package import"))]
            hits = [l.strip() for l in code_lines if records.search(l)]
            assert not hits, f"{module}/{f.relative_to(root)}: {hits}"


def test_the_offsite_client_stands_alone():
    """EngramOffsite (the append-only S3 client of the off-site backup copy) imports no Engram module, and
    only the command line imports it (its settings, the backup operations, the `engram` command): the
    serving modules never hold the off-site key."""
    code = {target: imported for target, (_, imported) in internal_arrows().items()}
    assert code["EngramOffsite"] == set()
    assert {target for target, imported in code.items() if "EngramOffsite" in imported} == {"engram", "EngramConfig", "EngramOperations"}


def test_only_the_commands_choose_the_postgres_engine():
    """The PostgreSQL engine is chosen at the edge: the command line (the runtime that opens it for
    `serve --metadata`, migrations and backups, the benchmarks) imports EngramPostgres, and its own schema
    module builds on it; the domain and the HTTP layer see only `MetadataStore`."""
    code = {target: imported for target, (_, imported) in internal_arrows().items()}
    postgres = {target for target, imported in code.items() if "EngramPostgres" in imported}
    assert postgres - {"EngramPostgresSchema"} <= COMMAND_SIDE, postgres
    assert {"engram", "EngramRuntime"} <= postgres
    schema = {target for target, imported in code.items() if "EngramPostgresSchema" in imported}
    assert schema <= COMMAND_SIDE and "EngramRuntime" in schema, schema


def test_no_swift_file_is_over_600_lines():
    """A file is one concept (`Router+validation.swift`): past 600 lines it holds several, and is split
    along them (an extension per concern) instead of growing."""
    long = []
    for f in sorted((REPO / "Sources").rglob("*.swift")):
        n = len(f.read_text().splitlines())
        if n > 600:
            long.append(f"{f.relative_to(REPO)}: {n} lines")
    assert not long, "split these files along their concerns: " + "; ".join(long)


def test_no_module_is_over_2500_lines():
    """A module is one concept a reader finds by its folder name: past 2,500 lines it holds several, and
    is split along them (a model apart from its engine, a feature apart from the service it extends)."""
    big = []
    for module in sorted(p for p in (REPO / "Sources").iterdir() if p.is_dir()):
        n = sum(len(f.read_text().splitlines()) for f in module.rglob("*.swift"))
        if n > 2500:
            big.append(f"{module.name}: {n} lines")
    assert not big, "split these modules along their concerns: " + "; ".join(big)
