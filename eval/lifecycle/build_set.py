#!/usr/bin/env python3
"""Builds eval/lifecycle/set.jsonl: superseded facts, confirmed facts, code anchors and distractors.

    python3 eval/lifecycle/build_set.py [--out eval/lifecycle/set.jsonl] [--seed 20240611]

Standard library only. With a fixed seed the output is the same byte for byte. Prints counts and the
lexical balance to stderr. Every fact, service, person and path is invented.
"""
import argparse
import json
import random
import re
import sys
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# Services. `lang` drives which value pairs fit (a Swift app does not test with pytest) and what
# code paths look like. Anchors are only drawn for swift/go/py/ts repositories.
# ---------------------------------------------------------------------------------------------
SERVICES = [
    ("mobile-ios", "swift"), ("ios-sdk", "swift"), ("checkout-kit", "swift"), ("sync-engine", "swift"),
    ("media-kit", "swift"),
    ("edge-proxy", "go"), ("event-bus", "go"), ("geo-lookup", "go"), ("metrics-collector", "go"),
    ("scheduler", "go"), ("auth-gateway", "go"), ("inventory-sync", "go"), ("webhooks-relay", "go"),
    ("user-profile", "go"), ("config-service", "go"), ("media-transcoder", "go"),
    ("billing-api", "py"), ("data-pipeline", "py"), ("ml-ranker", "py"), ("reporting", "py"),
    ("tax-calculator", "py"), ("support-portal", "py"), ("email-relay", "py"), ("audit-log", "py"),
    ("recommendation", "py"), ("payments-worker", "py"),
    ("web-dashboard", "ts"), ("checkout-web", "ts"), ("admin-console", "ts"), ("docs-site", "ts"),
    ("notifications", "ts"), ("chat-backend", "ts"), ("pricing-engine", "ts"), ("catalog-service", "ts"),
    ("android-app", "jvm"), ("ledger", "jvm"), ("search-indexer", "jvm"), ("shipping-quotes", "jvm"),
    ("invoice-renderer", "rb"), ("partner-portal", "rb"),
]
LANG = dict(SERVICES)
# Apps and SDKs that run on devices: no servers, ports, base images or databases of their own.
CLIENTS = {"mobile-ios", "ios-sdk", "checkout-kit", "android-app"}
SERVER_KINDS = {"deploy_target", "local_port", "staging_url", "base_image", "rate_limit", "page_size", "api_base_path",
                "db_version", "migration_tool", "message_broker", "log_location", "metrics_backend", "json_casing",
                "table_naming"}
ORG = "acme"

# ---------------------------------------------------------------------------------------------
# Fact kinds. Each pair is (old, new, why[, langs]) or a dict with extra fields used by the
# templates. `why` reads after "since"/"after"/"with". Echo templates reuse the words people
# put in queries; terse ones do not. Picking echo for one memory and terse for the other steers
# which memory shares more words with the query.
# ---------------------------------------------------------------------------------------------
ANY = None
KINDS = {}


def kind(name, tags, pairs, queries, older_echo, older_terse, newer_echo, newer_terse):
    norm = []
    for p in pairs:
        if isinstance(p, dict):
            norm.append(p)
        else:
            d = {"old": p[0], "new": p[1], "why": p[2]}
            if len(p) > 3:
                d["langs"] = p[3]
            norm.append(d)
    KINDS[name] = dict(tags=tags, pairs=norm, queries=queries, older_echo=older_echo, older_terse=older_terse,
                       newer_echo=newer_echo, newer_terse=newer_terse)


kind("test_command", ["testing", "commands"],
     [("make test-unit", "bazel test //...", "the move to Bazel", ANY),
      ("pytest -q", "tox -e py312", "the tox rollout", {"py"}),
      ("python -m unittest discover", "pytest -n auto", "the pytest-xdist switch", {"py"}),
      ("npm test", "pnpm vitest run", "the switch from Jest to Vitest", {"ts"}),
      ("yarn jest --ci", "pnpm test:unit", "the pnpm workspace change", {"ts"}),
      ("go test ./...", "gotestsum -- -race ./...", "the race-detector push", {"go"}),
      ("swift test", "make check (swift test --parallel plus lint)", "the Makefile cleanup", {"swift"}),
      ("xcodebuild test -scheme App", "fastlane scan", "the fastlane adoption", {"swift"}),
      ("./gradlew test", "./gradlew check -Pci=true", "the Gradle 8 upgrade", {"jvm"}),
      ("bundle exec rspec", "bin/rails test", "dropping RSpec", {"rb"})],
     ["How do I run the tests for {svc}?", "What command runs the {svc} test suite?",
      "{svc}: how to run unit tests locally", "which test command does {svc} use in CI"],
     ["To run the tests for {svc}, use `{old}`.", "The {svc} test suite runs with `{old}`, locally and in CI.",
      "Run unit tests in {svc} with `{old}`."],
     ["{svc}: `{old}` before pushing.", "`{old}` is what we use in {svc}.", "Checked {svc}'s Makefile targets: `{old}`."],
     ["Since {why}, the tests for {svc} run with `{new}`.", "The {svc} test suite now runs with `{new}` (changed with {why}).",
      "To run unit tests in {svc} now use `{new}`; {why} changed it."],
     ["{svc} after {why}: `{new}`.", "Heads-up: {svc} switched to `{new}` with {why}.",
      "`{new}` replaces the old {svc} invocation since {why}."])

kind("build_command", ["build", "commands"],
     [("make build", "bazel build //...", "the Bazel migration", ANY),
      ("npm run build", "pnpm turbo run build", "the Turborepo move", {"ts"}),
      ("python setup.py bdist_wheel", "uv build", "dropping setup.py", {"py"}),
      ("go build ./cmd/...", "goreleaser build --snapshot", "the GoReleaser adoption", {"go"}),
      ("xcodebuild -scheme App", "tuist build App", "the Tuist migration", {"swift"}),
      ("docker build -t app .", "docker buildx bake", "the multi-arch images work", ANY),
      ("mvn package", "./gradlew assemble", "the Maven-to-Gradle port", {"jvm"})],
     ["How do I build {svc}?", "What's the build command for {svc}?", "{svc} local build steps",
      "how to produce a {svc} build artifact"],
     ["To build {svc}, run `{old}`.", "The build command for {svc} is `{old}`.", "{svc} builds locally with `{old}`."],
     ["{svc}: `{old}` produces the artifact.", "`{old}` and you're done for {svc}.", "For {svc} I just do `{old}`."],
     ["Since {why}, the build command for {svc} is `{new}`.", "To build {svc} now, run `{new}` ({why}).",
      "{svc} builds with `{new}` since {why}."],
     ["{svc} moved to `{new}` as part of {why}.", "After {why}: `{new}` for {svc}.", "Note: {why} changed {svc} to `{new}`."])

kind("deploy_target", ["deploy", "infrastructure"],
     [("Heroku", "ECS Fargate in eu-west-1", "the AWS consolidation", ANY),
      ("the prod-eu-1 Kubernetes cluster", "the prod-eu-2 cluster", "the cluster rebuild", ANY),
      ("EC2 instances behind the classic ELB", "EKS via Argo CD", "the platform migration", ANY),
      ("Google App Engine", "Cloud Run", "the GCP cleanup", ANY),
      ("a Nomad job on the ops cluster", "Kubernetes (namespace {svc}) via Helm", "the Nomad sunset", ANY),
      ("Netlify", "Cloudflare Pages", "the CDN contract change", {"ts"}),
      ("the on-prem VM rack", "Fly.io", "the datacenter exit", ANY),
      ("TestFlight builds uploaded by hand", "App Store Connect via Xcode Cloud", "the release automation", {"client-swift"}),
      ("the Play Console by hand", "Gradle Play Publisher from CI", "the release automation", {"client-jvm"})],
     ["Where is {svc} deployed?", "What does {svc} deploy to in production?", "{svc} production hosting",
      "where does {svc} run in prod"],
     ["{svc} is deployed to {old} in production.", "In production, {svc} runs on {old}.",
      "Production deploys of {svc} go to {old}."],
     ["{svc} lives on {old}.", "{old} hosts {svc}.", "{svc} → {old}."],
     ["Since {why}, {svc} is deployed to {new} in production.", "{svc} now runs in production on {new} ({why}).",
      "Production deploys of {svc} go to {new} after {why}."],
     ["{svc} moved to {new} with {why}.", "{why} put {svc} on {new}.", "{svc} → {new} (migrated during {why})."])

kind("code_owner", ["ownership", "review"],
     [("Priya Raman", "the Payments Platform team", "the reorg in March"),
      ("@dkowalski", "@acme/core-infra", "Dana's move to the data team"),
      ("the Growth team", "the Checkout squad", "the Q3 reorg"),
      ("Tomás Ferreira", "Mei Lin", "Tomás going on parental leave"),
      ("@acme/mobile", "@acme/ios-platform", "the mobile team split"),
      ("Jonas Weber", "the SRE rotation", "Jonas leaving the company"),
      ("the Data team", "Aiyana Brooks", "the ownership audit"),
      ("@acme/backend", "@acme/integrations", "the integrations team forming")],
     ["Who owns {svc}?", "Who should review changes to {svc}?", "{svc} code owner", "who to ask about {svc}"],
     ["{old} owns {svc}; ask them to review changes.", "Code owner for {svc}: {old}.",
      "Changes to {svc} need review from {old}, the owner."],
     ["{svc} is {old}'s area.", "Ping {old} about anything in {svc}.", "CODEOWNERS for {svc} lists {old}."],
     ["Since {why}, {new} owns {svc} and reviews its changes.", "Code owner for {svc} is now {new} after {why}.",
      "Changes to {svc} need review from {new} since {why}."],
     ["{new} took over {svc} ({why}).", "{svc}: {new} now, after {why}.", "CODEOWNERS updated: {new} for {svc}."])

kind("http_client", ["libraries", "networking"],
     [("requests", "httpx", "the async rewrite", {"py"}),
      ("Alamofire", "plain URLSession with async/await", "dropping third-party networking", {"swift"}),
      ("axios", "ky", "the bundle-size cleanup", {"ts"}),
      ("net/http with a hand-rolled retry wrapper", "hashicorp/go-retryablehttp", "the retry bugs in Q2", {"go"}),
      ("OkHttp 3", "the Ktor client", "the Kotlin multiplatform move", {"jvm"}),
      ("node-fetch", "the built-in fetch in Node 20", "the Node 20 upgrade", {"ts"}),
      ("Faraday", "HTTPX.rb", "the connection-pool work", {"rb"}),
      ("urllib3 directly", "requests with a shared Session", "the connection-leak incident", {"py"})],
     ["Which HTTP client library does {svc} use?", "What do we use for outbound HTTP calls in {svc}?",
      "{svc} http client", "what library for making HTTP requests in {svc}"],
     ["{svc} uses {old} as its HTTP client library.", "Outbound HTTP calls in {svc} go through {old}.",
      "For HTTP requests in {svc} use {old}."],
     ["{svc} depends on {old} for networking.", "{old} everywhere in {svc}.", "We standardised {svc} on {old}."],
     ["Since {why}, {svc} uses {new} as its HTTP client library.", "Outbound HTTP calls in {svc} now go through {new} ({why}).",
      "For HTTP requests in {svc} use {new} since {why}."],
     ["{svc} replaced its networking layer with {new} during {why}.", "{new} in {svc} now, see {why}.",
      "{why}: {svc} is on {new}."])

kind("logging_library", ["libraries", "observability"],
     [("logrus", "log/slog", "the Go 1.21 upgrade", {"go"}),
      ("zerolog", "zap", "the sampling requirements", {"go"}),
      ("winston", "pino", "the latency work", {"ts"}),
      ("the stdlib logging module with a JSON formatter", "structlog", "the observability revamp", {"py"}),
      ("os_log wrappers", "swift-log with a Datadog handler", "the logging RFC", {"swift"}),
      ("log4j 1.x", "Logback", "the log4j deprecation", {"jvm"}),
      ("Rails.logger with lograge", "semantic_logger", "the JSON logs change", {"rb"})],
     ["What logging library does {svc} use?", "How should I log from {svc}?", "{svc} structured logging",
      "which logger in {svc}"],
     ["{svc} logs with {old}; use it for new code.", "Logging in {svc} goes through {old}.",
      "To log from {svc}, use {old}."],
     ["{svc} is on {old}.", "{old} in {svc}, JSON output.", "{svc} standardised on {old} a while ago."],
     ["Since {why}, {svc} logs with {new}; use it for new code.", "Logging in {svc} now goes through {new} ({why}).",
      "To log from {svc}, use {new} since {why}."],
     ["{svc} swapped to {new} in {why}.", "{new} in {svc} after {why}.", "{why} moved {svc} onto {new}."])

kind("config_location", ["configuration"],
     [("config/app.yaml", "config/settings.toml", "the config loader rewrite", ANY),
      ("environment variables only", "the central config-service under the {svc}/ prefix", "the config-service rollout", ANY),
      (".env.local", "direnv with a checked-in .envrc.example", "the dev-env cleanup", ANY),
      ("Consul KV under services/{svc}", "AWS AppConfig", "the Consul shutdown", ANY),
      ("src/config.py constants", "pydantic-settings in src/settings.py", "the settings refactor", {"py"}),
      ("Info.plist keys", "one xcconfig file per environment", "the build-settings cleanup", {"swift"}),
      ("application.properties", "application.yaml with Spring profiles", "the Spring Boot 3 upgrade", {"jvm"})],
     ["Where does {svc} read its configuration from?", "Where is the config for {svc}?",
      "{svc} config file location", "how do I change a setting in {svc}"],
     ["{svc} reads its configuration from {old}.", "The config for {svc} is in {old}.",
      "To change a setting in {svc}, edit {old}."],
     ["{svc}: {old}.", "{old} holds everything {svc} needs at startup.", "Look in {old} for {svc}."],
     ["Since {why}, {svc} reads its configuration from {new}.", "The config for {svc} now lives in {new} ({why}).",
      "To change a setting in {svc}, edit {new} since {why}."],
     ["{svc} moved to {new} with {why}.", "{new} for {svc} after {why}.", "{why}: {svc} startup values come from {new}."])

kind("local_port", ["development", "ports"],
     [("8080", "8443", "TLS everywhere in dev", ANY),
      ("3000", "5173", "the Vite migration", {"ts"}),
      ("50051", "9090", "the gRPC gateway change", {"go", "jvm"}),
      ("5000", "5050", "macOS AirPlay grabbing 5000", {"py", "rb"}),
      ("8000", "8001", "the clash with the docs server", {"py"}),
      ("4000", "4100", "the local mesh setup", ANY),
      ("8081", "18081", "the port clash with the mock server", ANY)],
     ["What port does {svc} listen on locally?", "Which port is {svc} on in dev?", "{svc} local port",
      "I can't reach {svc} on localhost, which port?"],
     ["Locally {svc} listens on port {old}.", "{svc} runs on localhost:{old} in dev.", "In dev, the {svc} port is {old}."],
     ["{svc} → :{old}.", "Default bind for {svc} is {old}.", "{svc} serves on {old}."],
     ["Since {why}, {svc} listens on port {new} locally.", "{svc} runs on localhost:{new} in dev now ({why}).",
      "In dev the {svc} port is {new} after {why}."],
     ["{svc} → :{new} ({why}).", "{why} moved {svc} to {new}.", "Bind for {svc} changed to {new}."])

kind("branch_naming", ["conventions", "git"],
     [("feature/<short-name>", "<JIRA-KEY>-<short-name>, e.g. ENG-123-cache-router", "the Jira integration"),
      ("<initials>/<topic>", "type/<ticket>-<topic> (feat/, fix/, chore/)", "the conventional-commits rollout"),
      ("dev-<name>", "<ticket>/<slug>", "the branch protection rules"),
      ("<name>/<topic>", "<ticket>-<topic> with the ticket key first", "the release-notes automation")],
     ["How should I name branches in {svc}?", "What's the branch naming convention for {svc}?", "{svc} branch names",
      "naming a new branch for {svc}"],
     ["Branches in {svc} are named {old}.", "The branch naming convention for {svc} is {old}.",
      "Name new {svc} branches {old}."],
     ["{svc}: {old}.", "We do {old} in {svc}.", "{old}, per the {svc} CONTRIBUTING file."],
     ["Since {why}, branches in {svc} are named {new}.", "The branch naming convention for {svc} is now {new} ({why}).",
      "Name new {svc} branches {new} since {why}."],
     ["{svc} uses {new} after {why}.", "{why}: {new} in {svc}.", "Switching {svc} to {new} ({why})."])

kind("json_casing", ["conventions", "api"],
     [("snake_case", "camelCase", "the public API v2 spec"),
      ("camelCase", "snake_case", "aligning with the data warehouse"),
      ("PascalCase", "camelCase", "the OpenAPI generator switch"),
      ("kebab-case", "snake_case", "the client SDK complaints")],
     ["What casing do JSON fields use in {svc}'s API?", "{svc} API field naming convention",
      "how should I name response fields in {svc}"],
     ["JSON fields in {svc}'s API use {old}.", "The {svc} API field naming convention is {old}.",
      "Name response fields in {svc} in {old}."],
     ["{svc} payloads: {old}.", "{old} keys throughout {svc}.", "{svc} serializers emit {old}."],
     ["Since {why}, JSON fields in {svc}'s API use {new}.", "The {svc} API field naming convention is now {new} ({why}).",
      "Name response fields in {svc} in {new} since {why}."],
     ["{svc} payloads switched to {new} for {why}.", "{new} keys in {svc} after {why}.", "{why}: {svc} serializers emit {new}."])

kind("table_naming", ["conventions", "database"],
     [("singular (user, invoice)", "plural (users, invoices)", "the schema style guide"),
      ("prefixed with the service name", "schema-per-service without prefixes", "the Postgres schema split"),
      ("CamelCase", "snake_case", "the move off the old ORM"),
      ("tbl_<name>", "plain plural nouns", "the naming cleanup")],
     ["How are database tables named in {svc}?", "{svc} table naming convention", "what naming for new tables in {svc}"],
     ["Database tables in {svc} are named {old}.", "The {svc} table naming convention is {old}.",
      "Name new tables in {svc} {old}."],
     ["{svc} schema: {old}.", "{old} in {svc}'s schema.", "{svc} migrations create {old}."],
     ["Since {why}, database tables in {svc} are named {new}.", "The {svc} table naming convention is now {new} ({why}).",
      "Name new tables in {svc} {new} since {why}."],
     ["{svc} schema: {new} after {why}.", "{why}: {new} in {svc}.", "{svc} migrations create {new} now."])

kind("ci_provider", ["ci"],
     [("Travis CI", "GitHub Actions", "Travis pricing changes", ANY),
      ("Jenkins on ci.acme.internal", "GitLab CI", "the Jenkins retirement", ANY),
      ("CircleCI", "Buildkite", "the CircleCI incident", ANY),
      ("Bitrise", "Xcode Cloud", "the mobile CI review", {"swift"}),
      ("GitHub Actions", "Buildkite with self-hosted agents", "GPU test needs", {"py", "go"}),
      ("TeamCity", "GitHub Actions", "the TeamCity licence expiry", {"jvm"})],
     ["Which CI does {svc} use?", "Where do {svc}'s CI builds run?", "{svc} CI provider",
      "where can I see {svc} pipeline results"],
     ["{svc} uses {old} for CI.", "CI builds for {svc} run on {old}.", "Pipeline results for {svc} are in {old}."],
     ["{svc}: {old}.", "{old} runs {svc} on every push.", "{old} has the {svc} jobs."],
     ["Since {why}, {svc} uses {new} for CI.", "CI builds for {svc} now run on {new} ({why}).",
      "Pipeline results for {svc} are in {new} since {why}."],
     ["{svc} moved to {new} ({why}).", "{why}: {new} runs {svc} on every push.", "{new} has the {svc} jobs now."])

kind("db_version", ["database", "versions"],
     [("PostgreSQL 12", "PostgreSQL 15", "the RDS major upgrade"),
      ("MySQL 5.7", "MySQL 8.0", "the 5.7 end of life"),
      ("Redis 6", "Redis 7.2", "the ElastiCache upgrade"),
      ("MongoDB 4.4", "MongoDB 6.0", "the Atlas migration"),
      ("PostgreSQL 13", "PostgreSQL 16", "the Aurora move"),
      ("Elasticsearch 7.10", "OpenSearch 2.11", "the license change")],
     ["Which database version does {svc} run on?", "What version of the database does {svc} use?",
      "{svc} database version", "is {svc} on the new database version yet?"],
     ["{svc} runs on {old}.", "The database version for {svc} is {old}.", "{svc} uses {old} as its database."],
     ["{svc}: {old} in prod.", "{old} under {svc}.", "Prod for {svc} is {old}."],
     ["Since {why}, {svc} runs on {new}.", "The database version for {svc} is now {new} ({why}).",
      "{svc} uses {new} as its database since {why}."],
     ["{svc} upgraded to {new} in {why}.", "{why} put {svc} on {new}.", "Prod for {svc}: {new} after {why}."])

kind("flag_rollout", ["feature-flags", "release"],
     [dict(flag="new_checkout_flow", old="off in production (internal testers only)", new="on for 100% of production traffic",
           why="the rollout finished last week"),
      dict(flag="search_v2", old="limited to internal users", new="enabled for all EU customers", why="the EU launch"),
      dict(flag="async_export", old="on for 10% of accounts", new="rolled back to 0%", why="the export timeouts incident"),
      dict(flag="pricing_v3", old="enabled only in staging", new="enabled in production for new signups", why="the pricing launch"),
      dict(flag="batch_sync", old="on everywhere", new="removed (batching is always on)", why="the flag cleanup sprint"),
      dict(flag="offline_mode", old="enabled for beta testers", new="enabled for everyone on 4.2 and later", why="the 4.2 release")],
     ["Is {flag} enabled in {svc} production?", "What's the rollout status of the {flag} flag in {svc}?",
      "{svc} {flag} flag state"],
     ["The {flag} flag in {svc} is {old}.", "{svc}: {flag} rollout status is {old}.", "In {svc} production, {flag} is {old}."],
     ["{flag} ({svc}): {old}.", "Checked the dashboard, {svc} {flag} {old}.", "Dashboard says {flag} is {old} for {svc}."],
     ["Since {why}, the {flag} flag in {svc} is {new}.", "{svc}: {flag} rollout status is {new} after {why}.",
      "In {svc} production, {flag} is {new} since {why}."],
     ["{flag} ({svc}): {new}, after {why}.", "After {why}: {svc} {flag} {new}.", "{flag} in {svc} is {new} after {why}."])

kind("flag_service", ["feature-flags", "tooling"],
     [("LaunchDarkly", "Unleash (self-hosted)", "the LaunchDarkly contract ending"),
      ("a YAML file in the repo", "Flagsmith", "the flags RFC"),
      ("ConfigCat", "OpenFeature with the flagd provider", "the vendor-neutral push"),
      ("environment variables", "LaunchDarkly", "the experimentation program")],
     ["Where are {svc}'s feature flags managed?", "Which feature flag service does {svc} use?",
      "how do I toggle a flag for {svc}"],
     ["Feature flags for {svc} are managed in {old}.", "{svc} uses {old} as its feature flag service.",
      "To toggle a flag for {svc}, use {old}."],
     ["{svc} flags: {old}.", "{old} drives {svc}'s switches.", "{svc} reads {old} at startup for its switches."],
     ["Since {why}, feature flags for {svc} are managed in {new}.", "{svc} uses {new} as its feature flag service now ({why}).",
      "To toggle a flag for {svc}, use {new} since {why}."],
     ["{svc} flags moved to {new} ({why}).", "{why}: {new} drives {svc}'s switches.", "{new} for {svc} now."])

kind("runtime_version", ["versions", "toolchain"],
     [("Node 16", "Node 20 LTS", "Node 16 going end-of-life", {"ts"}),
      ("Python 3.9", "Python 3.12", "the interpreter upgrade", {"py"}),
      ("Go 1.19", "Go 1.22", "the toolchain bump", {"go"}),
      ("Swift 5.7 with Xcode 14", "Swift 5.10 with Xcode 15.3", "the App Store SDK requirement", {"swift"}),
      ("Java 11", "Java 21", "the LTS upgrade", {"jvm"}),
      ("Ruby 2.7", "Ruby 3.3", "the Rails 7 upgrade", {"rb"}),
      ("Node 18", "Bun 1.1", "the cold-start experiment", {"ts"}),
      ("Python 3.10", "Python 3.11", "the performance sprint", {"py"})],
     ["What runtime version does {svc} target?", "Which language version is {svc} on?", "{svc} toolchain version",
      "what version should I install to work on {svc}"],
     ["{svc} targets {old}.", "The language version for {svc} is {old}.", "Install {old} to work on {svc}."],
     ["{svc}: {old}.", "{old} in {svc}'s CI image.", "{svc} pins {old}."],
     ["Since {why}, {svc} targets {new}.", "The language version for {svc} is now {new} ({why}).",
      "Install {new} to work on {svc} since {why}."],
     ["{svc} bumped to {new} ({why}).", "{why}: {new} in {svc}'s CI image.", "{svc} pins {new} now."])

kind("package_manager", ["dependencies", "tooling"],
     [("npm", "pnpm", "the monorepo tooling change", {"ts"}),
      ("pip with requirements.txt", "uv with uv.lock", "the lockfile cleanup", {"py"}),
      ("CocoaPods", "Swift Package Manager", "the CocoaPods removal", {"swift"}),
      ("yarn 1", "pnpm", "the Yarn 1 deprecation", {"ts"}),
      ("Poetry", "uv", "the faster-installs work", {"py"}),
      ("Carthage", "Swift Package Manager", "the Xcode 15 upgrade", {"swift"}),
      ("dep", "Go modules", "the dependency tooling cleanup", {"go"}),
      ("Maven", "Gradle with version catalogs", "the build speed work", {"jvm"})],
     ["Which package manager does {svc} use?", "How do I install dependencies for {svc}?",
      "{svc} dependency management", "what tool manages {svc}'s dependencies"],
     ["{svc} uses {old} as its package manager.", "To install dependencies for {svc}, use {old}.",
      "Dependencies in {svc} are managed with {old}."],
     ["{svc}: {old}.", "{old} lockfile is committed in {svc}.", "{old} for {svc}."],
     ["Since {why}, {svc} uses {new} as its package manager.", "To install dependencies for {svc}, use {new} ({why}).",
      "Dependencies in {svc} are managed with {new} since {why}."],
     ["{svc} switched to {new} ({why}).", "{why}: {new} lockfile committed in {svc}.", "{new} for {svc} now."])

kind("linter", ["tooling", "style"],
     [("flake8, isort and black", "ruff (lint and format)", "the tooling speed-up", {"py"}),
      ("ESLint with Prettier", "Biome", "the lint consolidation", {"ts"}),
      ("golint", "golangci-lint with the repo's .golangci.yml", "golint's deprecation", {"go"}),
      ("SwiftLint only", "SwiftLint plus swift-format", "the style guide update", {"swift"}),
      ("pylint", "ruff", "the CI time budget", {"py"}),
      ("Checkstyle", "Spotless with google-java-format", "the formatter debate", {"jvm"}),
      ("RuboCop defaults", "Standard Ruby", "the style bikeshed ending", {"rb"})],
     ["What linter does {svc} use?", "How do I lint and format {svc} before pushing?", "{svc} code formatting tool",
      "which style checker runs on {svc}"],
     ["{svc} is linted with {old}.", "To lint and format {svc} before pushing, run {old}.",
      "The linter for {svc} is {old}."],
     ["{svc}: {old}.", "{old} in {svc}'s pre-commit hooks.", "{old} gates {svc} merges."],
     ["Since {why}, {svc} is linted with {new}.", "To lint and format {svc} before pushing, run {new} ({why}).",
      "The linter for {svc} is now {new} after {why}."],
     ["{svc} adopted {new} ({why}).", "After {why}, {new} in {svc}'s pre-commit hooks.", "{new} gates {svc} merges."])

kind("alert_channel", ["on-call", "alerting"],
     [("#billing-alerts", "#payments-oncall", "the on-call merge"),
      ("the SRE PagerDuty service", "the team's own PagerDuty service", "the you-build-it-you-run-it change"),
      ("an email to the ops list", "Opsgenie", "the alerting consolidation"),
      ("#eng-alerts", "#alerts-{svc}", "the alert noise cleanup"),
      ("#platform-pager", "#sre-incidents", "the incident process rewrite")],
     ["Where do {svc} alerts go?", "Which channel gets {svc}'s alerts?", "{svc} on-call paging",
      "who gets paged when {svc} breaks"],
     ["Alerts for {svc} go to {old}.", "{svc}'s alerts page {old}.", "When {svc} breaks, {old} gets paged."],
     ["{svc}: {old}.", "Watch {old} for {svc}.", "{old} is where {svc} noise lands."],
     ["Since {why}, alerts for {svc} go to {new}.", "{svc}'s alerts page {new} now ({why}).",
      "When {svc} breaks, {new} gets paged since {why}."],
     ["{svc} moved to {new} ({why}).", "{why}: watch {new} for {svc}.", "{new} is where {svc} noise lands now."])

kind("staging_url", ["environments"],
     [("https://staging.acme.dev/{svc}", "https://{svc}.stg.acme.internal", "the staging network split"),
      ("https://{svc}-staging.herokuapp.com", "https://{svc}.staging.acme.cloud", "leaving Heroku"),
      ("https://stage-{svc}.acme.io", "https://{svc}.preview.acme.io", "the preview environments launch")],
     ["What's the staging URL for {svc}?", "Where is {svc} staging?", "{svc} staging environment address",
      "how do I reach staging for {svc}"],
     ["The staging URL for {svc} is {old}.", "{svc} staging is at {old}.", "Reach staging for {svc} at {old}."],
     ["{svc}: {old}.", "{old} (VPN needed).", "Bookmark {old} for {svc}."],
     ["Since {why}, the staging URL for {svc} is {new}.", "{svc} staging is at {new} now ({why}).",
      "Reach staging for {svc} at {new} since {why}."],
     ["{svc} moved to {new} ({why}).", "{why}: {new} (VPN needed).", "Bookmark {new} for {svc}."])

kind("log_location", ["observability", "logs"],
     [("Kibana (index {svc}-*)", "Grafana Loki (label app={svc})", "the ELK shutdown"),
      ("Papertrail", "Datadog Logs", "the vendor consolidation"),
      ("CloudWatch Logs group /ecs/{svc}", "Grafana Cloud", "the observability revamp"),
      ("Splunk", "Honeycomb (dataset {svc})", "the tracing-first push")],
     ["Where can I find {svc}'s logs?", "Where do {svc} logs go?", "{svc} log search",
      "how do I look at production logs for {svc}"],
     ["{svc}'s logs are in {old}.", "Production logs for {svc} go to {old}.", "To look at {svc} logs, open {old}."],
     ["{svc}: {old}.", "{old} has everything {svc} prints.", "Search {old} for {svc}."],
     ["Since {why}, {svc}'s logs are in {new}.", "Production logs for {svc} go to {new} now ({why}).",
      "To look at {svc} logs, open {new} since {why}."],
     ["{svc} shipping to {new} after {why}.", "{why}: {new} has everything {svc} prints.", "Search {new} for {svc}."])

kind("metrics_backend", ["observability", "metrics"],
     [("Datadog", "Prometheus with Grafana", "the Datadog cost review"),
      ("StatsD and Graphite", "Prometheus (fed through OpenTelemetry)", "the OTel migration"),
      ("New Relic", "Datadog", "the APM consolidation"),
      ("CloudWatch metrics", "Grafana Mimir", "the metrics platform project")],
     ["Where are {svc}'s metrics and dashboards?", "Which metrics system does {svc} report to?", "{svc} dashboards",
      "where do I see {svc} latency graphs"],
     ["{svc}'s metrics and dashboards are in {old}.", "{svc} reports metrics to {old}.",
      "Latency graphs for {svc} are in {old}."],
     ["{svc}: {old}.", "{old} for anything {svc} emits.", "Open {old} and filter on {svc}."],
     ["Since {why}, {svc}'s metrics and dashboards are in {new}.", "{svc} reports metrics to {new} now ({why}).",
      "Latency graphs for {svc} are in {new} since {why}."],
     ["{svc} moved to {new} ({why}).", "{why}: {new} for anything {svc} emits.", "Open {new} and filter on {svc}."])

kind("release_process", ["release", "process"],
     [("releases go out on Tuesdays with the release train", "every merge to main deploys automatically",
       "the continuous-delivery switch"),
      ("version tags look like v1.4.2", "calendar versions like 2024.06.1", "the CalVer decision"),
      ("releases need a manual approval in Spinnaker", "releases ship through an Argo CD sync with no manual gate",
       "the Spinnaker removal"),
      ("a release branch is cut every two weeks", "it is trunk-based, with tags cut from main", "the trunk-based move")],
     ["How does {svc} get released?", "What's the release process for {svc}?", "{svc} release cadence",
      "when will my {svc} change reach production"],
     ["For {svc}, {old}.", "The release process for {svc}: {old}.", "{svc} changes reach production as follows: {old}."],
     ["{svc}: {old}.", "Reminder for {svc}: {old}.", "In {svc} land, {old}."],
     ["Since {why}, for {svc} {new}.", "The release process for {svc} now: {new} ({why}).",
      "{svc} changes reach production as follows since {why}: {new}."],
     ["{svc} after {why}: {new}.", "Reminder for {svc} ({why}): {new}.", "In {svc} land {new} now."])

kind("api_base_path", ["api", "versions"],
     [("/v1", "/v2", "the v2 API launch"),
      ("/api/v2", "/api/v3", "the pagination overhaul"),
      ("/v1beta1", "/v1", "the GA release"),
      ("/internal/api", "/api/internal/v1", "the gateway routing change")],
     ["What's the current API base path for {svc}?", "Which API version should clients call on {svc}?",
      "{svc} API version prefix", "what URL prefix do {svc} endpoints use"],
     ["The API base path for {svc} is {old}.", "Clients should call {svc} on {old}.", "{svc} endpoints use the {old} prefix."],
     ["{svc}: {old}.", "{old}/... for {svc}.", "{svc} routes live under {old}."],
     ["Since {why}, the API base path for {svc} is {new}.", "Clients should call {svc} on {new} ({why}).",
      "{svc} endpoints use the {new} prefix since {why}."],
     ["{svc} moved to {new} ({why}).", "{why}: {new}/... for {svc}.", "{svc} routes live under {new} now."])

kind("page_size", ["api", "limits"],
     [("50", "100", "the mobile team's request"),
      ("20", "25", "the design review"),
      ("1000", "200", "the OOM incident"),
      ("100", "500", "the bulk export needs"),
      ("30", "60", "the dashboard redesign")],
     ["What's the default page size in {svc}'s list endpoints?", "How many items does {svc} return per page by default?",
      "{svc} pagination limit", "default limit for {svc} list calls"],
     ["The default page size in {svc}'s list endpoints is {old}.", "{svc} returns {old} items per page by default.",
      "List calls to {svc} default to limit={old}."],
     ["{svc}: {old}.", "{old} rows unless you pass ?limit, in {svc}.", "{svc} caps lists at {old} by default."],
     ["Since {why}, the default page size in {svc}'s list endpoints is {new}.",
      "{svc} returns {new} items per page by default now ({why}).", "List calls to {svc} default to limit={new} since {why}."],
     ["{svc} changed to {new} ({why}).", "After {why}, {new} rows unless you pass ?limit, in {svc}.", "{svc} caps lists at {new} now."])

kind("migration_tool", ["database", "tooling"],
     [("Flyway with SQL files in db/migration", "Atlas with migrations in migrations/", "the Atlas adoption", ANY),
      ("Alembic", "Django migrations", "the Django port", {"py"}),
      ("golang-migrate", "goose", "the embed-migrations change", {"go"}),
      ("hand-written SQL in scripts/sql", "sqitch", "the deploy-safety review", ANY),
      ("knex migrations", "Prisma Migrate", "the Prisma move", {"ts"}),
      ("Liquibase XML changelogs", "Flyway", "the changelog cleanup", {"jvm"}),
      ("ActiveRecord migrations", "ActiveRecord migrations run by a separate release job", "the zero-downtime work", {"rb"})],
     ["How do I add a database migration in {svc}?", "Which migration tool does {svc} use?", "{svc} schema migrations",
      "where do {svc} DB migrations live"],
     ["To add a database migration in {svc}, use {old}.", "{svc} uses {old} for migrations.",
      "DB migrations for {svc}: {old}."],
     ["{svc}: {old}.", "{old} in {svc}.", "Schema changes in {svc} go through {old}."],
     ["Since {why}, to add a database migration in {svc}, use {new}.", "{svc} uses {new} for migrations now ({why}).",
      "DB migrations for {svc}: {new}, since {why}."],
     ["{svc} moved to {new} ({why}).", "{why}: {new} in {svc}.", "Schema changes in {svc} go through {new} now."])

kind("message_broker", ["messaging", "infrastructure"],
     [("RabbitMQ", "Kafka (topic {svc}.events)", "the event-bus project"),
      ("SQS", "Kafka", "the streaming rollout"),
      ("Redis lists via RQ", "Celery on RabbitMQ", "the worker rewrite"),
      ("Google Pub/Sub", "NATS JetStream", "the multi-cloud work"),
      ("Kafka", "Redpanda", "the broker cost review")],
     ["What message queue does {svc} use?", "Which broker does {svc} publish to?", "{svc} async jobs queue",
      "how does {svc} send events to other services"],
     ["{svc} uses {old} as its message queue.", "{svc} publishes to {old}.", "{svc} sends events to other services through {old}."],
     ["{svc}: {old}.", "{old} carries {svc}'s events.", "{svc} → {old}."],
     ["Since {why}, {svc} uses {new} as its message queue.", "{svc} publishes to {new} now ({why}).",
      "{svc} sends events to other services through {new} since {why}."],
     ["{svc} moved to {new} ({why}).", "{why}: {new} carries {svc}'s events.", "{svc} → {new} now."])

kind("upstream_timeout", ["resilience", "limits"],
     [("30 seconds", "10 seconds", "the thread-pool exhaustion incident"),
      ("5 seconds", "15 seconds", "the slow partner API"),
      ("60 seconds", "20 seconds", "the gateway limits"),
      ("2 seconds", "800 ms", "the latency SLO")],
     ["What's the request timeout for {svc}'s upstream calls?", "How long does {svc} wait before timing out?",
      "{svc} timeout setting", "default HTTP timeout in {svc}"],
     ["The request timeout for {svc}'s upstream calls is {old}.", "{svc} waits {old} before timing out.",
      "Default HTTP timeout in {svc}: {old}."],
     ["{svc}: {old}.", "{old} and {svc} gives up.", "{svc} aborts after {old}."],
     ["Since {why}, the request timeout for {svc}'s upstream calls is {new}.", "{svc} waits {new} before timing out now ({why}).",
      "Default HTTP timeout in {svc}: {new}, since {why}."],
     ["{svc} changed to {new} ({why}).", "{why}: {new} and {svc} gives up.", "{svc} aborts after {new} now."])

kind("rate_limit", ["api", "limits"],
     [("100 requests per second per client", "250 requests per second per client", "the capacity upgrade"),
      ("60 requests per minute per IP", "120 requests per minute per user", "the abuse review"),
      ("1,000 requests per minute per account", "600 requests per minute per account", "the noisy-neighbour incident"),
      ("10 requests per second per user", "25 requests per second per user", "the mobile sync change")],
     ["What's the rate limit on {svc}?", "How many requests per second does {svc} allow?", "{svc} throttling limits",
      "why is {svc} returning 429s"],
     ["The rate limit on {svc} is {old}.", "{svc} allows {old}.", "{svc} throttles above {old} (429s)."],
     ["{svc}: {old}.", "{old}, then {svc} pushes back.", "Budget for {svc}: {old}."],
     ["Since {why}, the rate limit on {svc} is {new}.", "{svc} allows {new} now ({why}).",
      "{svc} throttles above {new} (429s) since {why}."],
     ["{svc} limit changed to {new} ({why}).", "{why}: {new}, then {svc} pushes back.", "Budget for {svc}: {new} now."])

kind("base_image", ["containers", "build"],
     [("alpine:3.16", "gcr.io/distroless/static", "the CVE scan findings", {"go"}),
      ("ubuntu:20.04", "ubuntu:22.04", "the focal end-of-life", ANY),
      ("python:3.9-slim", "python:3.12-slim-bookworm", "the interpreter upgrade", {"py"}),
      ("node:16-alpine", "node:20-bookworm-slim", "the musl DNS issue", {"ts"}),
      ("eclipse-temurin:11-jre", "eclipse-temurin:21-jre-alpine", "the Java 21 move", {"jvm"}),
      ("ruby:2.7-slim", "ruby:3.3-slim", "the Ruby upgrade", {"rb"})],
     ["What base image does {svc}'s Dockerfile use?", "Which container base image is {svc} built on?",
      "{svc} docker base image", "what's FROM in {svc}'s Dockerfile"],
     ["{svc}'s Dockerfile uses {old} as the base image.", "The container base image for {svc} is {old}.",
      "FROM in {svc}'s Dockerfile is {old}."],
     ["{svc}: {old}.", "{old} under {svc}.", "{svc} images start from {old}."],
     ["Since {why}, {svc}'s Dockerfile uses {new} as the base image.", "The container base image for {svc} is {new} now ({why}).",
      "FROM in {svc}'s Dockerfile is {new} since {why}."],
     ["{svc} rebased onto {new} ({why}).", "{why}: {new} under {svc}.", "{svc} images start from {new} now."])

kind("docs_location", ["documentation"],
     [("the Confluence space ENG/{svc}", "docs/ in the repo, published with MkDocs", "the docs-as-code move"),
      ("the GitHub wiki", "Backstage TechDocs", "the Backstage rollout"),
      ("a Google Doc linked from the README", "the docs site at docs.acme.dev/{svc}", "the docs portal launch"),
      ("Notion", "the repo's docs/ folder", "the Notion cleanup")],
     ["Where is {svc}'s documentation?", "Where do I write docs for {svc}?", "{svc} docs location",
      "where's the runbook for {svc}"],
     ["{svc}'s documentation is in {old}.", "Write docs for {svc} in {old}.", "The {svc} runbook and docs live in {old}."],
     ["{svc}: {old}.", "{old} has the {svc} runbook.", "See {old} for {svc}."],
     ["Since {why}, {svc}'s documentation is in {new}.", "Write docs for {svc} in {new} ({why}).",
      "The {svc} runbook and docs live in {new} since {why}."],
     ["{svc} moved to {new} ({why}).", "{why}: {new} has the {svc} runbook.", "See {new} for {svc} now."])

kind("merge_policy", ["review", "process"],
     [("one approval is enough to merge", "two approvals are required, one from a code owner", "the SOC 2 audit"),
      ("pull requests are squash-merged", "pull requests use rebase-and-merge to keep commits", "the bisect discussion"),
      ("anyone can merge once CI passes", "merges go through the merge queue", "the broken-main week"),
      ("code owners must approve", "any team member can approve", "the review bottleneck retro")],
     ["What are the merge rules for {svc} PRs?", "How many approvals does a {svc} pull request need?",
      "{svc} merge policy", "can I merge my own {svc} PR after CI"],
     ["Merge rules for {svc} PRs: {old}.", "For a {svc} pull request, {old}.", "{svc} merge policy: {old}."],
     ["{svc}: {old}.", "Reminder, in {svc} {old}.", "Branch protection on {svc}: {old}."],
     ["Since {why}, merge rules for {svc} PRs: {new}.", "For a {svc} pull request, {new} ({why}).",
      "{svc} merge policy since {why}: {new}."],
     ["{svc} after {why}: {new}.", "Reminder, in {svc} {new} now.", "Branch protection on {svc} ({why}): {new}."])

kind("default_branch", ["git", "conventions"],
     [("master", "main", "the rename"),
      ("develop", "main", "dropping git-flow"),
      ("trunk", "main", "the repo template alignment"),
      ("main", "release/next", "the release-branch experiment")],
     ["What's the default branch of {svc}?", "Which branch do I target for {svc} PRs?", "{svc} main branch name",
      "what branch should I branch off in {svc}"],
     ["The default branch of {svc} is {old}.", "Target {old} for {svc} PRs.", "Branch off {old} in {svc}."],
     ["{svc}: {old}.", "{old} is the trunk for {svc}.", "{svc} PRs go into {old}."],
     ["Since {why}, the default branch of {svc} is {new}.", "Target {new} for {svc} PRs ({why}).",
      "Branch off {new} in {svc} since {why}."],
     ["{svc} switched to {new} ({why}).", "{why}: {new} is the trunk for {svc}.", "{svc} PRs go into {new} now."])

CONFIRM_NOTES = [
    "{new} was announced for {svc} but rolled back; {old} is still right.",
    "The change to {new} never landed in {svc}; {old} is current.",
    "Someone misread a draft PR: {svc} still uses {old}, not {new}.",
    "{new} was only tried on a branch of {svc}; {old} remains.",
]

# ---------------------------------------------------------------------------------------------
# Code topics for anchors: (key, fact, question, Type, method_snake, file_stem, package).
# ---------------------------------------------------------------------------------------------
TOPICS = [
    ("retry", "failed deliveries are retried with exponential backoff capped at five minutes",
     "how are failed deliveries retried", "RetryPolicy", "next_delay", "retry_policy", "delivery"),
    ("ratelimit", "the per-client limiter is a leaky bucket refilled every second",
     "how does per-client rate limiting work", "RateLimiter", "allow", "rate_limiter", "middleware"),
    ("cursor", "list endpoints encode the pagination cursor as base64 of the last row's (created_at, id)",
     "how is the pagination cursor built", "Cursor", "encode", "cursor", "pagination"),
    ("rounding", "money amounts are rounded half-even to the currency's minor unit",
     "how are currency amounts rounded", "Money", "rounded", "money", "pricing"),
    ("timezone", "report dates are converted to the account's timezone before grouping by day",
     "where are report dates converted to the account timezone", "ReportClock", "local_day", "report_clock", "reporting"),
    ("profilecache", "the profile cache entry is dropped whenever a user's email or display name changes",
     "when is the user profile cache invalidated", "ProfileCache", "invalidate", "profile_cache", "cache"),
    ("csv", "CSV exports stream rows in batches of 500 and quote every field",
     "how does the CSV export stream rows", "CsvExporter", "write_rows", "csv_exporter", "export"),
    ("adminguard", "admin-only routes check the role claim and answer 403, never 404",
     "how are admin-only routes protected", "AdminGuard", "check", "admin_guard", "access"),
    ("settings", "settings are read from the environment first, then the YAML file, then defaults",
     "in what order are settings loaded", "SettingsLoader", "load", "settings_loader", "config"),
    ("readiness", "the readiness probe fails when the database ping takes longer than 2 seconds",
     "what makes the readiness probe fail", "HealthChecker", "readiness", "health", "health"),
    ("shutdown", "on SIGTERM the server stops accepting connections and drains in-flight requests for up to 25 seconds",
     "how does graceful shutdown work", "Server", "shutdown", "server", "app"),
    ("pool", "the database pool is capped at 20 connections with a 5 second acquire timeout",
     "how big is the database connection pool", "DatabasePool", "acquire", "pool", "db"),
    ("idempotency", "POST requests with an Idempotency-Key header replay the stored response for 24 hours",
     "how are duplicate POST requests handled", "IdempotencyStore", "lookup", "idempotency_store", "middleware"),
    ("vat", "VAT is computed per line item and summed, never on the invoice total",
     "how is VAT calculated on invoices", "TaxCalculator", "vat_for_lines", "tax_calculator", "billing"),
    ("invoicenumber", "invoice numbers are sequential per legal entity and reserved inside the same transaction",
     "how are invoice numbers assigned", "InvoiceNumberer", "next_number", "invoice_numberer", "billing"),
    ("locale", "missing translations fall back from de-AT to de to en",
     "how does translation fallback work", "LocaleResolver", "resolve", "locale_resolver", "i18n"),
    ("upload", "uploads over 8 MB are split into 5 MB multipart chunks",
     "how are large file uploads split", "UploadSession", "next_chunk", "upload_session", "uploads"),
    ("dedup", "incoming events are deduplicated by (source, external_id) for 10 minutes",
     "how are duplicate events dropped", "EventDeduplicator", "seen", "deduplicator", "events"),
    ("breaker", "the payment-provider client opens its circuit after 5 consecutive failures and probes again after 30 seconds",
     "when does the payment provider circuit breaker open", "CircuitBreaker", "record_failure", "circuit_breaker", "resilience"),
    ("reqlog", "request logs drop query strings and mask email addresses",
     "what does the request logger leave out", "RequestLogger", "log_request", "request_logger", "middleware"),
    ("cors", "CORS allows only the dashboard and docs origins",
     "which origins does CORS allow", "CorsPolicy", "is_allowed", "cors_policy", "web"),
    ("gzip", "responses over 1 KB are gzip-compressed unless the client asks for identity encoding",
     "when are responses compressed", "Compressor", "should_compress", "compressor", "web"),
    ("cleanup", "the nightly cleanup job runs at 02:30 UTC and skips if the previous run still holds the lock",
     "when does the nightly cleanup run", "CleanupJob", "run", "cleanup_job", "jobs"),
    ("bulkimport", "bulk imports validate every row first and write nothing if any row fails",
     "what happens when a bulk import row is invalid", "BulkImporter", "import_rows", "bulk_importer", "imports"),
    ("geoip", "IP geolocation uses the local MaxMind database refreshed weekly, never a remote API",
     "how is IP geolocation done", "GeoLocator", "locate", "geo_locator", "geo"),
    ("thumbs", "thumbnails are generated at 128, 256 and 512 px and stored as WebP",
     "what thumbnail sizes are generated", "ThumbnailRenderer", "render", "thumbnail_renderer", "media"),
    ("markdown", "user markdown is rendered with raw HTML disabled and links get rel=nofollow",
     "how is user markdown sanitized", "MarkdownRenderer", "render_html", "markdown_renderer", "content"),
    ("fanout", "notifications fan out per channel (email, push, in-app) and one failing channel does not block the others",
     "how are notifications fanned out", "NotificationDispatcher", "dispatch", "dispatcher", "notify"),
    ("heartbeat", "websocket connections are pinged every 20 seconds and closed after two missed pongs",
     "how does the websocket heartbeat work", "HeartbeatMonitor", "tick", "heartbeat_monitor", "realtime"),
    ("errormap", "domain errors map to HTTP status codes in one table: not found 404, conflict 409, validation 422",
     "how are errors mapped to HTTP status codes", "ErrorMapper", "status_for", "error_mapper", "web"),
    ("schema", "incoming payloads are validated against the JSON schema before they are queued",
     "where are incoming payloads validated", "PayloadValidator", "validate", "payload_validator", "ingest"),
    ("retryafter", "the client honours Retry-After on 429 and 503, capped at 60 seconds",
     "does the client respect Retry-After", "RetryAfterParser", "delay", "retry_after", "client"),
    ("queryparse", "search queries support field:value filters and quoted phrases; unknown fields are treated as text",
     "how are search queries parsed", "QueryParser", "parse", "query_parser", "search"),
    ("sorting", "list sorting is stable and ties break on id ascending",
     "how are ties broken when sorting lists", "SortSpec", "apply", "sort_spec", "listing"),
    ("flageval", "flag evaluation hashes the account id so the same account always lands in the same bucket",
     "how is a feature flag bucket chosen", "FlagEvaluator", "bucket_for", "flag_evaluator", "flags"),
    ("email", "emails are rendered from MJML templates in the account's locale with a plain-text fallback",
     "how are transactional emails rendered", "EmailRenderer", "render", "email_renderer", "mail"),
    ("audit", "every admin action writes an audit entry in the same transaction as the change",
     "when are audit log entries written", "AuditLogger", "record", "audit_logger", "audit"),
    ("backpressure", "the consumer pauses a partition when more than 1,000 messages are in flight",
     "how does the consumer apply backpressure", "Consumer", "poll", "consumer", "queue"),
    ("serialize", "events are serialized as JSON with ISO-8601 UTC timestamps and snake_case keys",
     "how are events serialized", "EventEncoder", "encode", "event_encoder", "events"),
    ("latency", "request latency is exported as a histogram with buckets from 5 ms to 10 s",
     "how is request latency measured", "LatencyHistogram", "observe", "latency_histogram", "metrics"),
    ("diff", "diffs longer than 2,000 lines are collapsed and rendered lazily",
     "how are large diffs rendered", "DiffRenderer", "render", "diff_renderer", "review"),
    ("sync", "offline edits are replayed in order and a server conflict keeps the newer edit by timestamp",
     "how are offline edit conflicts resolved", "SyncQueue", "replay", "sync_queue", "sync"),
]

STOP = set("""a an the and or of to in on for is are be by with from at as it its this that these those i we you
how what which who where when why do does did should can could would will my our your me us there here
about into than then not no yes if so up out get got use used using now still just any all new""".split())


def words(text):
    out = set()
    for t in re.findall(r"[a-z0-9]+", text.lower()):
        if t in STOP or len(t) < 2:
            continue
        if t.endswith("ies") and len(t) > 4:
            t = t[:-3] + "y"
        elif t.endswith("s") and len(t) > 3 and not t.endswith("ss"):
            t = t[:-1]
        out.add(t)
    return out


def favours(query, older, newer):
    q = words(query)
    o, n = len(q & words(older)), len(q & words(newer))
    return "older" if o > n else "newer" if n > o else "tie"


def camel(snake):
    parts = snake.split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def pascal(snake):
    return "".join(p.title() for p in snake.split("_"))


def fmt(template, **kw):
    """Fills a template; a sentence that starts with an article gets a capital letter."""
    s = template.format(**kw)
    svc = kw.get("svc")
    if svc and svc.endswith("s"):
        s = s.replace(svc + "'s", svc + "'")
    for article in ("the ", "a ", "an "):
        if s.startswith(article):
            return s[0].upper() + s[1:]
    return s


def code_location(lang, svc, topic):
    """(path, symbol, test_path, sibling_dir) for a topic in a repository of `lang`."""
    _, _, _, typ, meth, stem, pkg = topic
    if lang == "swift":
        module = pascal(pkg)
        return (f"Sources/{module}/{typ}.swift", f"{typ}.{camel(meth)}", f"Tests/{module}Tests/{typ}Tests.swift",
                f"Sources/{module}")
    if lang == "go":
        return (f"internal/{pkg}/{stem}.go", f"{typ}.{pascal(meth)}", f"internal/{pkg}/{stem}_test.go", f"internal/{pkg}")
    if lang == "py":
        root = svc.replace("-", "_")
        return (f"src/{root}/{pkg}/{stem}.py", f"{typ}.{meth}", f"tests/{pkg}/test_{stem}.py", f"src/{root}/{pkg}")
    if lang == "ts":
        return (f"src/{pkg}/{camel(stem)}.ts", f"{typ}.{camel(meth)}", f"src/{pkg}/{camel(stem)}.test.ts", f"src/{pkg}")
    raise ValueError(lang)


MANIFEST = {"swift": "Package.swift", "go": "go.mod", "py": "pyproject.toml", "ts": "package.json"}
REPO_NOISE = ["README.md", "CHANGELOG.md", ".github/workflows/ci.yml", "docs/architecture.md", "Makefile",
              ".gitignore", "docs/runbook.md", "CODEOWNERS"]

ANCHOR_TEMPLATES = [
    "In {svc}, {fact}. The logic is `{symbol}` in `{path}`.",
    "{svc}: {fact} (see `{symbol}`, {path}:{lines}).",
    "{fact_cap} in {svc}; implemented by `{symbol}` ({path}).",
    "How {svc} works: {fact}. Code: {path}, `{symbol}`.",
]
ANCHOR_QUERIES = ["{q_cap} in {svc}?", "{svc}: {q}?", "In {svc}, {q}?", "{q_cap}? ({svc})"]

GENERAL_DISTRACTORS = [
    ("The {svc} nightly end-to-end suite takes about {n} minutes.", ["testing"]),
    ("{svc} runs {n} replicas in production behind the shared load balancer.", ["infrastructure"]),
    ("The {svc} SLO is 99.{n}% monthly availability.", ["slo"]),
    ("{svc} publishes its OpenAPI spec at /openapi.json.", ["api", "documentation"]),
    ("Flaky test in {svc}: {test}; CI retries it once.", ["testing", "flaky"]),
    ("{svc} runbook: if queue lag passes {n} minutes, scale the workers before anything else.", ["runbook"]),
    ("Demo data for {svc} is loaded with `make seed`.", ["development"]),
    ("The {svc} team holds its planning on {day}s.", ["process"]),
    ("{svc} emits a `deploy_finished` event that the release bot posts to #deploys.", ["release"]),
    ("Load tests for {svc} live in loadtest/ and use k6.", ["testing", "performance"]),
    ("{svc} has a known memory spike during the hourly report job; it is expected.", ["operations"]),
    ("Screenshots in {svc}'s README are regenerated with `make screenshots`.", ["documentation"]),
    ("{svc} exposes Prometheus-style metrics on /metrics for the internal scraper.", ["observability"]),
    ("The {svc} changelog is generated from PR titles at release time.", ["release"]),
    ("{svc} supports dry-run mode with the --dry-run flag on every CLI command.", ["cli"]),
    ("New endpoints in {svc} need an entry in the API changelog before review.", ["api", "process"]),
    ("{svc} stores uploaded files in the {bucket} bucket.", ["storage"]),
    ("The {svc} integration tests need Docker running locally.", ["testing", "development"]),
    ("Error budget alerts for {svc} fire at 50% and 90% burn.", ["slo", "alerting"]),
    ("{svc} pins dependencies weekly through the Renovate bot.", ["dependencies"]),
]
TEAM_FACTS = [
    "Standup for the platform team is at 9:30 in #eng-standup.",
    "Incident reviews are blameless and due within five working days.",
    "Design docs go in the RFC repository and need two reviewers.",
    "The on-call handover happens Mondays at 10:00.",
    "Production database access goes through the break-glass request form.",
    "Friday afternoons are deploy-free unless it is a hotfix.",
    "Commit messages follow Conventional Commits (feat:, fix:, chore:).",
    "Every service must have a runbook linked from the service catalog.",
    "Quarterly game days rotate between the platform and product teams.",
    "PR descriptions should link the ticket and describe how it was tested.",
    "The engineering all-hands is the first Thursday of each month.",
    "New hires pair with a buddy for their first two weeks.",
    "Dependency upgrades that touch more than one service need a heads-up in #eng.",
    "Postmortem action items are tracked with the incident label.",
    "The shared test accounts are listed in the QA handbook page.",
    "Feature demos happen every other Wednesday.",
    "Flaky tests get quarantined with a ticket, never silently skipped.",
    "The mobile release train leaves every second Monday.",
    "Tech debt days are the last Friday of each sprint.",
    "The architecture guild meets monthly to review RFCs.",
]
TEST_NAMES = ["test_export_large_batch", "TestSchedulerDrift", "checkout.spec.ts > applies coupon",
              "SyncEngineTests.testReplayOrder", "test_webhook_retry_jitter", "TestCacheEviction",
              "RouterTests.testTrailingSlash", "test_report_timezone_dst"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday"]
BUCKETS = ["acme-uploads-prod", "acme-media-eu", "acme-exports", "acme-attachments"]


class Builder:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.slots = set()      # (svc, kind) used by fact items and fact distractors
        self.code_slots = set()  # (svc, topic) used by anchors and code distractors
        self.contents = set()
        self.repo_touched = {}        # repo -> every path some anchor item's push touches
        self.repo_fresh_anchors = {}  # repo -> paths cited by anchor items that must stay unchanged

    def sha(self):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(40))

    def unique(self, text):
        if text in self.contents:
            return False
        self.contents.add(text)
        return True

    def pairs_for(self, kind_name, svc):
        lang = LANG[svc]
        if svc in CLIENTS:
            if kind_name in SERVER_KINDS:
                return [p for p in KINDS[kind_name]["pairs"] if f"client-{lang}" in (p.get("langs") or ())]
            tags = {lang, f"client-{lang}"}
        else:
            tags = {lang}
        return [p for p in KINDS[kind_name]["pairs"] if p.get("langs") is None or tags & p["langs"]]

    def free_slot(self, kinds_order):
        """Next (svc, kind, pair) with an unused slot, walking kinds round-robin."""
        svcs = [s for s, _ in SERVICES]
        for _ in range(1000):
            k = kinds_order[self._k % len(kinds_order)]
            self._k += 1
            cands = [s for s in svcs if (s, k) not in self.slots and self.pairs_for(k, s)]
            if not cands:
                continue
            svc = self.rng.choice(cands)
            pair = self.rng.choice(self.pairs_for(k, svc))
            self.slots.add((svc, k))
            return svc, k, pair
        raise RuntimeError("out of slots")

    def fact_item(self, family, idx, target):
        """A pair of memories about one subject; `target` says which one should share more query words."""
        svc, kname, pair = self.free_slot(self.kind_order)
        k = KINDS[kname]
        vals = {key: (v.format(svc=svc) if isinstance(v, str) else v) for key, v in pair.items() if key != "langs"}
        vals["svc"] = svc
        n_queries = 2 if self.rng.random() < 0.4 else 1
        best = None
        for attempt in range(400):
            loose = attempt >= 200
            if target == "older":
                o_pool = k["older_echo"] if not loose else k["older_echo"] + k["older_terse"]
                n_pool = k["newer_terse"] if not loose else k["newer_echo"] + k["newer_terse"]
            else:
                o_pool = k["older_terse"] if not loose else k["older_echo"] + k["older_terse"]
                n_pool = k["newer_echo"] if not loose else k["newer_echo"] + k["newer_terse"]
            older = fmt(self.rng.choice(o_pool), **vals)
            newer = fmt(self.rng.choice(n_pool), **vals)
            qs = [fmt(q, **vals) for q in self.rng.sample(k["queries"], n_queries)]
            fav = [favours(q, older, newer) for q in qs]
            score = sum(f == target for f in fav)
            if best is None or score > best[0]:
                best = (score, older, newer, qs, fav)
            if score == len(qs):
                break
        _, older, newer, qs, fav = best
        if not (self.unique(older) and self.unique(newer)):
            raise RuntimeError(f"duplicate content for {svc}/{kname}")
        repo = f"{ORG}/{svc}"
        tags = list(k["tags"])
        item = {
            "family": family,
            "id": f"{family[0]}-{idx:03d}",
            "kind": kname,
            "older": {"content": older, "tags": tags, "repo": repo},
            "newer": {"content": newer, "tags": tags, "repo": repo},
            "queries": qs,
            "lexical": fav,
        }
        if family == "confirm":
            item["confirmed"] = "older"
            item["reported"] = "newer"
            item["note"] = fmt(self.rng.choice(CONFIRM_NOTES), **vals)
        return item

    def anchor_item(self, idx, changed):
        """An anchored memory and a push. A runner applies every push to one store, so no push may touch
        a path that another item, meant to stay unchanged, cites in the same repository."""
        for _ in range(1000):
            item, key, anchored, touched = self._anchor_candidate(idx, changed, sorted(MANIFEST)[idx % len(MANIFEST)])
            repo = item["memory"]["repo"]
            if key in self.code_slots or item["memory"]["content"] in self.contents:
                continue
            if not changed and anchored & self.repo_touched.get(repo, set()):
                continue
            if touched & self.repo_fresh_anchors.get(repo, set()):
                continue
            break
        else:
            raise RuntimeError("no consistent anchor item")
        self.code_slots.add(key)
        assert self.unique(item["memory"]["content"])
        self.repo_touched.setdefault(repo, set()).update(touched)
        if not changed:
            self.repo_fresh_anchors.setdefault(repo, set()).update(anchored)
        return item

    def _anchor_candidate(self, idx, changed, lang):
        # Languages in turn, whatever their number of services.
        svc = self.rng.choice([s for s, l in SERVICES if l == lang])
        topic = self.rng.choice(TOPICS)
        path, symbol, test_path, dirpath = code_location(lang, svc, topic)
        start = self.rng.randint(8, 260)
        lines = f"{start}-{start + self.rng.randint(8, 60)}"
        anchors = [{"path": path, "symbol": symbol, "lines": lines}]
        # About a third cite a second place: a collaborator from another topic in the same repository.
        if self.rng.random() < 0.33:
            other = self.rng.choice([t for t in TOPICS if t[0] != topic[0]])
            p2, s2, _, _ = code_location(lang, svc, other)
            st2 = self.rng.randint(8, 200)
            anchors.append({"path": p2, "symbol": s2, "lines": f"{st2}-{st2 + self.rng.randint(5, 40)}"})
        anchored = {a["path"] for a in anchors}
        fact = topic[1]
        content = fmt(self.rng.choice(ANCHOR_TEMPLATES), svc=svc, fact=fact, fact_cap=fact[0].upper() + fact[1:],
                      symbol=symbol, path=path, lines=lines)
        q = topic[2]
        query = fmt(self.rng.choice(ANCHOR_QUERIES), svc=svc, q=q, q_cap=q[0].upper() + q[1:])
        added, modified, removed = [], [], []
        noise = [f for f in REPO_NOISE] + [MANIFEST[lang]]
        # Near misses: same directory, same file name elsewhere, the symbol's tests.
        sibling_topic = self.rng.choice([t for t in TOPICS if t[0] != topic[0]])
        sibling = code_location(lang, svc, sibling_topic)[0]
        if lang == "swift":
            same_name_elsewhere = path.replace("Sources/", "Sources/Legacy", 1)
        elif lang == "go":
            same_name_elsewhere = path.replace("internal/", "internal/legacy/", 1)
        elif lang == "py":
            same_name_elsewhere = path.replace("/src/", "/", 1).replace("src/", "scripts/", 1)
        else:
            same_name_elsewhere = path.replace("src/", "src/legacy/", 1)
        near = [test_path, sibling, same_name_elsewhere, f"{dirpath}/README.md"]
        if changed:
            how = self.rng.choices(["modify", "remove", "rename"], weights=[70, 15, 15])[0]
            target = path if len(anchors) == 1 or self.rng.random() < 0.75 else anchors[1]["path"]
            if how == "modify":
                modified.append(target)
            elif how == "remove":
                removed.append(target)
            else:
                removed.append(target)
                stem_dir, fname = target.rsplit("/", 1)
                added.append(f"{stem_dir}/v2/{fname}")
            for extra in self.rng.sample(noise + near, self.rng.randint(0, 2)):
                if extra not in anchored and extra not in modified + added + removed:
                    modified.append(extra)
        else:
            how = "none"
            picks = self.rng.sample(near, self.rng.randint(1, 2)) + self.rng.sample(noise, self.rng.randint(0, 2))
            for p in picks:
                if p in anchored or p in modified + added:
                    continue
                (added if p == same_name_elsewhere and self.rng.random() < 0.3 else modified).append(p)
            if not modified and not added:
                modified.append(self.rng.choice(noise))
        for p in [a["path"] for a in anchors] + added + modified + removed:
            assert not p.startswith("/") and ".." not in p.split("/"), p
        touched = set(added + modified + removed)
        assert bool(touched & anchored) == changed
        repo = f"{ORG}/{svc}"
        item = {
            "family": "anchor",
            "id": f"a-{idx:03d}",
            "memory": {"content": content, "tags": ["code", topic[0], lang], "repo": repo, "anchors": anchors},
            "push": {"repo": repo, "ref": "refs/heads/main", "after": self.sha(),
                     "added": added, "modified": modified, "removed": removed},
            "changed": changed,
            "change": how,
            "queries": [query],
        }
        return item, (svc, topic[0]), anchored, touched

    def fact_distractor(self):
        svc, kname, pair = self.free_slot(self.kind_order)
        k = KINDS[kname]
        vals = {key: (v.format(svc=svc) if isinstance(v, str) else v) for key, v in pair.items() if key != "langs"}
        vals["svc"] = svc
        # One consistent fact: the old value phrased as present, or the new value with its reason.
        if self.rng.random() < 0.5:
            text = fmt(self.rng.choice(k["older_echo"] + k["older_terse"]), **vals)
        else:
            text = fmt(self.rng.choice(k["newer_echo"] + k["newer_terse"]), **vals)
        return text, svc, list(k["tags"])

    def code_distractor(self):
        anchor_svcs = [s for s, lang in SERVICES if lang in MANIFEST]
        for _ in range(1000):
            svc = self.rng.choice(anchor_svcs)
            topic = self.rng.choice(TOPICS)
            if (svc, topic[0]) not in self.code_slots:
                break
        self.code_slots.add((svc, topic[0]))
        path, symbol, _, _ = code_location(LANG[svc], svc, topic)
        fact = topic[1]
        text = fmt(self.rng.choice(ANCHOR_TEMPLATES), svc=svc, fact=fact, fact_cap=fact[0].upper() + fact[1:],
                   symbol=symbol, path=path, lines=f"{self.rng.randint(10, 200)}-{self.rng.randint(210, 320)}")
        return text, svc, ["code", topic[0]]

    def general_distractor(self):
        tmpl, tags = self.rng.choice(GENERAL_DISTRACTORS)
        svc = self.rng.choice([s for s, _ in SERVICES])
        text = fmt(tmpl, svc=svc, n=self.rng.randint(2, 45), test=self.rng.choice(TEST_NAMES),
                   day=self.rng.choice(DAYS), bucket=self.rng.choice(BUCKETS))
        return text, svc, tags

    def build(self, n_supersede, n_confirm, n_anchor, n_distractor):
        kinds = sorted(KINDS)
        self.rng.shuffle(kinds)
        self.kind_order = kinds
        self._k = 0
        items = []

        def targets(n):
            t = ["older"] * (n // 2) + ["newer"] * (n - n // 2)
            self.rng.shuffle(t)
            return t

        for i, t in enumerate(targets(n_supersede), 1):
            items.append(self.fact_item("supersede", i, t))
        for i, t in enumerate(targets(n_confirm), 1):
            items.append(self.fact_item("confirm", i, t))
        flags = [True] * (n_anchor // 2) + [False] * (n_anchor - n_anchor // 2)
        self.rng.shuffle(flags)
        for i, ch in enumerate(flags, 1):
            items.append(self.anchor_item(i, ch))
        distractors = []
        mix = ["fact"] * (n_distractor * 45 // 100) + ["code"] * (n_distractor * 25 // 100)
        mix += ["general"] * (n_distractor - len(mix) - len(TEAM_FACTS))
        self.rng.shuffle(mix)
        make = {"fact": self.fact_distractor, "code": self.code_distractor, "general": self.general_distractor}
        for m in mix:
            for _ in range(50):
                text, svc, tags = make[m]()
                if self.unique(text):
                    break
            else:
                raise RuntimeError("could not make a unique distractor")
            distractors.append((text, f"{ORG}/{svc}", tags))
        for fact in TEAM_FACTS:
            assert self.unique(fact)
            distractors.append((fact, f"{ORG}/eng-handbook", ["team"]))
        self.rng.shuffle(distractors)
        for i, (text, repo, tags) in enumerate(distractors, 1):
            items.append({"family": "distractor", "id": f"d-{i:03d}", "content": text, "repo": repo, "tags": tags})
        return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "set.jsonl"))
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--supersede", type=int, default=150)
    ap.add_argument("--confirm", type=int, default=100)
    ap.add_argument("--anchor", type=int, default=100)
    ap.add_argument("--distractors", type=int, default=300)
    a = ap.parse_args()
    items = Builder(a.seed).build(a.supersede, a.confirm, a.anchor, a.distractors)
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False, sort_keys=False) + "\n")
    stats = {}
    for it in items:
        fam = it["family"]
        s = stats.setdefault(fam, {"items": 0, "queries": 0, "older": 0, "newer": 0, "tie": 0, "changed": 0,
                                   "item_older": 0, "item_newer": 0, "item_mixed": 0})
        s["items"] += 1
        s["queries"] += len(it.get("queries", []))
        for f in it.get("lexical", []):
            s[f] += 1
        if "lexical" in it:
            lex = set(it["lexical"])
            s["item_older" if lex == {"older"} else "item_newer" if lex == {"newer"} else "item_mixed"] += 1
        s["changed"] += bool(it.get("changed"))
    size = Path(a.out).stat().st_size
    print(f"wrote {a.out} ({size / 1024:.0f} KiB)", file=sys.stderr)
    for fam, s in stats.items():
        print(f"  {fam:<10} items={s['items']:<4} queries={s['queries']:<4} " + (
            f"lexical per query: older={s['older']} newer={s['newer']} tie={s['tie']}; per item: older={s['item_older']} "
            f"newer={s['item_newer']} mixed={s['item_mixed']}" if fam in ("supersede", "confirm") else
            f"changed={s['changed']}" if fam == "anchor" else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
