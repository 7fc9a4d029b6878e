//! Endpoint paths, in the server's route syntax (`{name}` is a path segment).

pub const HEALTH: &str = "/health";
pub const OPENAPI: &str = "/openapi.json";
/// Prometheus metrics (text exposition).
pub const METRICS: &str = "/metrics";

pub const REGISTER: &str = "/account/register";
pub const LOGIN: &str = "/account/login";
pub const REFRESH_TOKEN: &str = "/account/refresh-token";
pub const ORGANIZATIONS: &str = "/account/organizations";

pub const PROGRAMS_ALL: &str = "/program/all";
pub const PROGRAMS_MINE: &str = "/program/mine";
pub const TEMPLATE: &str = "/program/template";
pub const PROGRAM_UPLOAD: &str = "/program/upload";
pub const PROGRAMS_WITH_PROOFS: &str = "/program/proofs";
pub const PROOF_UPLOAD: &str = "/program/proof";
/// Execution-only mode: the execution (trace + memory file) of an input group.
pub const EXECUTION_UPLOAD: &str = "/program/execution";
pub const INPUT_GROUPS: &str = "/program/inputs/all/{program_id}";
pub const INPUTS: &str = "/program/inputs/{program_id}";
pub const INPUT_GROUP: &str = "/program/input/{program_id}/{input_group_id}";
pub const RESERVATION: &str = "/program/program-and-inputs/{program_id}";
/// Execution-only mode: reserves an input group that has no execution yet.
pub const EXECUTION_RESERVATION: &str = "/program/inputs-to-execute/{program_id}";
/// Execution-only mode: reserves an executed input group, to prove its execution.
pub const PROVING_RESERVATION: &str = "/program/execution-to-prove/{program_id}";
/// Gives a live reservation back early (any of the three kinds above), by its reservation id.
pub const RESERVATION_RELEASE: &str = "/program/reservation/release";
/// The holder of a live reservation reports that its run failed.
pub const FAILURE_REPORT: &str = "/program/failure";
/// The organization hands a `failed` input group out again (its failures are forgotten).
pub const INPUT_GROUP_RETRY: &str = "/program/input/{program_id}/{input_group_id}/retry";
pub const ORGANIZATION_PROGRAMS: &str = "/program/organization/{organization_id}";
pub const PROOF: &str = "/program/proof/{program_id}/{input_group_id}";
pub const PROVEN_INPUT_GROUPS: &str = "/program/proofs/{program_id}";
/// The uploads of the program's donors that the server refused, newest first (owner).
pub const PROGRAM_REFUSALS: &str = "/program/refusals/{program_id}";
pub const PROGRAM_STATUS: &str = "/program/status/{program_id}";
pub const PROGRAM: &str = "/program/{program_id}";

/// A program's public progress (GET), and whether it is public (PUT, owner).
pub const PROGRAM_PROGRESS: &str = "/program/progress/{program_id}";
/// Registers the signing key as a donor.
pub const DONOR_REGISTER: &str = "/donor";
/// The donor's signed key rotation.
pub const DONOR_KEY: &str = "/donor/key";
/// Joins or leaves a team (signed).
pub const DONOR_TEAM: &str = "/donor/team";
pub const DONOR: &str = "/donor/{donor_id}";
/// The donor leaderboard.
pub const DONORS: &str = "/donors";
/// Creates a team (signed).
pub const TEAM_CREATE: &str = "/team";
pub const TEAM: &str = "/team/{team_id}";
pub const TEAMS: &str = "/teams";
/// The web dashboard's page.
pub const DASHBOARD: &str = "/";
/// The dashboard's scripts and style sheet (embedded in the server).
pub const DASHBOARD_ASSET: &str = "/dashboard/{file}";

/// Fills the `{…}` segments of `template` with `values`, in order.
pub fn fill(template: &str, values: &[&(dyn std::fmt::Display + Sync)]) -> String {
    let mut out = String::with_capacity(template.len() + 40);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        match values.next() {
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(&rest[start..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fill_replaces_segments_in_order() {
        assert_eq!(super::fill(super::PROOF, &[&"a", &7]), "/program/proof/a/7");
        assert_eq!(super::fill(super::HEALTH, &[]), "/health");
    }
}
