//! Nothing to link against: this crate only holds `tests/deployment.rs`, which reads the
//! repository's deployment files (`docker-compose.yml`, `.env.example`, the Dockerfiles) and checks
//! the wiring a `docker compose up` relies on, on machines without a Docker engine.
