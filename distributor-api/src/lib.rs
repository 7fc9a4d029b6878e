//! The program-distributor protocol: one definition for the server and both CLIs.
