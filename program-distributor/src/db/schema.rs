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
