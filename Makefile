# Native commands (no Docker needed) and the spec's Docker targets (docker compose, see
# docs/DEPLOYMENT.md). `make` alone lists them.
.DEFAULT_GOAL := help
.PHONY: help test run demo services lint fmt clear_local_build clear_local_db clear_local_all \
	run_all stop_all logs clear_build clear_docker clear_db clear_all \
	executor_run_all executor_clear_build executor_clear_docker executor_clear_all

help: ## List the targets
	@grep -E '^[a-z_]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-22s %s\n", $$1, $$2}'

# ---- Native -------------------------------------------------------------------------------

test: ## Run every test against real MariaDB + S3 (installs and starts them if needed)
	./scripts/test.sh

run: ## Start the server on its embedded default (SQLite + ./.data, http://127.0.0.1:8080)
	cargo run --release -p program-distributor

demo: ## The whole system end to end: build, serve (temp dir), upload, prove, verify, aggregate (ARGS=--keep: leave the server running)
	./scripts/demo.sh $(ARGS)

services: ## Only bring up MariaDB and the S3-compatible test server
	bash -c '. scripts/services.sh'

lint: ## Formatting, clippy, docs and the fuzz targets, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
	CARGO_TARGET_DIR="$(CURDIR)/target" cargo clippy --manifest-path cairo-stark/fuzz/Cargo.toml -- -D warnings

fmt: ## Format the code
	cargo fmt --all

clear_local_build: ## Remove the native build output (cargo clean)
	cargo clean

clear_local_db: ## Remove the embedded default's data (SQLite database and stored files)
	rm -rf .data/distributor

clear_local_all: clear_local_build clear_local_db ## Both of the above

# ---- Docker: program distributor (MySQL, phpMyAdmin, MinIO, server) -----------------------
# Image and volume names as set in docker-compose.yml.
COMPOSE ?= docker compose
SERVER_IMAGE := program-distributor-server:local
EXECUTOR_IMAGE := executor-client:local
DATA_VOLUMES := compute-donation-db-data compute-donation-objects-data
# Removes an image if it exists (a missing one is not an error).
remove_image = if docker image inspect $(1) >/dev/null 2>&1; then docker image rm $(1); fi

# The compose file reads .env: start from the sample when there is none.
.env:
	sed -e "s/^BASIC_TOKEN_SECRET=.*/BASIC_TOKEN_SECRET=$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')/" \
	    -e "s/^REFRESH_TOKEN_SECRET=.*/REFRESH_TOKEN_SECRET=$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')/" \
	    .env.example > .env
	@echo "created .env from .env.example with random token secrets: change its passwords before exposing the server"

# Server replicas behind the proxy: make run_all REPLICAS=3
REPLICAS ?= 1

run_all: .env ## Docker: build and start the database, phpMyAdmin, MinIO, the server (REPLICAS) and its proxy
	$(COMPOSE) up --build --detach --wait --scale server=$(REPLICAS)
	@echo "server:     http://localhost:$$($(COMPOSE) port proxy 8080 | sed 's/.*://')/ ($(REPLICAS) replica(s))"
	@echo "phpMyAdmin: http://localhost:$$($(COMPOSE) port phpmyadmin 80 | sed 's/.*://')/"

stop_all: .env ## Docker: stop and remove the containers (images and data kept)
	$(COMPOSE) down

logs: .env ## Docker: follow the server's log
	$(COMPOSE) logs --follow server

clear_build: .env ## Docker: remove the server's container and image, and Docker's build cache (cargo caches included: the next build starts from zero)
	$(COMPOSE) rm --stop --force server
	$(call remove_image,$(SERVER_IMAGE))
	docker builder prune --force

clear_docker: .env ## Docker: remove the distributor's containers and images (data volumes kept)
	$(COMPOSE) down --rmi all

clear_all: clear_docker clear_build ## Docker: clear_docker and clear_build

clear_db: .env ## Docker: delete the database and object store volumes (all stored data)
	$(COMPOSE) down
	docker volume rm --force $(DATA_VOLUMES)

# ---- Docker: executor client -------------------------------------------------------------
# Runs against PROGRAM_DISTRIBUTOR_URL without starting the server; leaves no container behind.
# Extra flags for `executor-client run`: make executor_run_all ARGS='--organization "Collatz Lab"'

executor_run_all: .env ## Docker: build and run the executor (EXECUTOR_CPUS, PROGRAM_DISTRIBUTOR_URL)
	$(COMPOSE) --profile executor run --rm --build --no-deps executor run $(ARGS)

executor_clear_build: ## Docker: remove the executor's image and Docker's build cache (cargo caches included)
	$(call remove_image,$(EXECUTOR_IMAGE))
	docker builder prune --force

executor_clear_docker: .env ## Docker: remove the executor's containers and image
	$(COMPOSE) --profile executor rm --stop --force executor
	$(call remove_image,$(EXECUTOR_IMAGE))

executor_clear_all: executor_clear_docker executor_clear_build ## Docker: both of the above
