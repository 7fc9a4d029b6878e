# Native commands (no Docker needed). The compose targets of the spec arrive with the deployment work.
.DEFAULT_GOAL := help
.PHONY: help test run services lint fmt clear_build clear_db clear_all

help: ## List the targets
	@grep -E '^[a-z_]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

test: ## Run every test against real MariaDB + S3 (installs and starts them if needed)
	./scripts/test.sh

run: ## Start the server on its embedded default (SQLite + ./.data, http://127.0.0.1:8080)
	cargo run --release -p program-distributor

services: ## Only bring up MariaDB and the S3-compatible test server
	bash -c '. scripts/services.sh'

lint: ## Formatting and clippy, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

clear_build: ## Remove build output
	cargo clean

clear_db: ## Remove the embedded default's data (SQLite database and stored files)
	rm -rf .data/distributor

clear_all: clear_build clear_db ## Both of the above
