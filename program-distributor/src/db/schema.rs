//! Table definitions shared by both backends (see `migrations/`).

diesel::table! {
    accounts (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        name -> Text,
        description -> Text,
        created_at -> BigInt,
        /// `domain::text::unique_key` of the username.
        username_key -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        account_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    programs (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        description -> Text,
        lock_timeout_secs -> BigInt,
        created_at -> BigInt,
        min_conjectured_bits -> Integer,
        min_provable_bits -> Integer,
        max_failures -> Integer,
        /// `domain::text::unique_key` of the name.
        name_key -> Text,
    }
}

diesel::table! {
    input_groups (id) {
        id -> Text,
        program_id -> Text,
        name -> Text,
        created_at -> BigInt,
        last_reserved -> Nullable<BigInt>,
        lock_expires -> BigInt,
        proven -> Bool,
        proven_at -> Nullable<BigInt>,
        confirmed -> Bool,
        proof_id -> Nullable<Text>,
        steps -> Nullable<BigInt>,
        execution_id -> Nullable<Text>,
        reservation_id -> Nullable<Text>,
        failures -> Integer,
        failed -> Bool,
        failure_log -> Nullable<Text>,
    }
}

diesel::joinable!(refresh_tokens -> accounts (account_id));
diesel::joinable!(programs -> accounts (account_id));
diesel::joinable!(input_groups -> programs (program_id));
diesel::allow_tables_to_appear_in_same_query!(accounts, refresh_tokens, programs, input_groups);

// Donors (see `migrations/*/2026-12-03-160000_donors`).

diesel::table! {
    teams (id) {
        id -> Text,
        name -> Text,
        /// `domain::text::unique_key` of the name.
        name_key -> Text,
        description -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    donors (id) {
        id -> Text,
        /// 64 lower-case hex digits.
        public_key -> Text,
        name -> Text,
        /// `domain::text::unique_key` of the name.
        name_key -> Text,
        team_id -> Nullable<Text>,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        total_steps -> BigInt,
        total_jobs -> BigInt,
    }
}

diesel::table! {
    donor_nonces (public_key, nonce) {
        public_key -> Text,
        nonce -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    credit_entries (id) {
        id -> Text,
        donor_id -> Text,
        program_id -> Text,
        input_group_id -> Text,
        kind -> Text,
        object_id -> Text,
        day -> BigInt,
        created_at -> BigInt,
        steps -> BigInt,
        jobs -> BigInt,
    }
}

diesel::table! {
    /// The donor columns of `programs` (the table above, seen through the columns only the donor
    /// routes use).
    #[sql_name = "programs"]
    program_visibility (id) {
        id -> Text,
        /// Whether `GET /program/progress/{id}` answers to anyone.
        public_progress -> Bool,
    }
}

diesel::table! {
    /// Uploads refused by the server's check of the file (see the migration).
    refusals (id) {
        id -> Text,
        program_id -> Text,
        input_group_id -> Text,
        kind -> Text,
        code -> Text,
        message -> Text,
        donor_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::joinable!(refusals -> input_groups (input_group_id));
diesel::allow_tables_to_appear_in_same_query!(refusals, input_groups);
diesel::joinable!(donors -> teams (team_id));
diesel::joinable!(credit_entries -> donors (donor_id));
diesel::allow_tables_to_appear_in_same_query!(donors, teams, credit_entries);
