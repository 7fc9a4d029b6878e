//! `programs` and `organizations`: paged listings, as a table or as JSON.

use std::collections::HashMap;

use distributor_api::{Client, Organization, PageQuery, Program};
use serde::Serialize;
use uuid::Uuid;

use crate::cli::{OrganizationsArgs, PageArgs, ProgramsArgs};
use crate::config::Settings;
use crate::exit::AppError;
use crate::output::{Mode, Reporter};
use crate::server::{app_error, find_organization};

/// One page as printed with `--json`.
#[derive(Serialize)]
struct Page<T> {
    page: i64,
    page_size: i64,
    total: i64,
    items: Vec<T>,
}

/// `programs`: one page of the programs, all or an organization's, optionally by name prefix.
pub async fn programs(
    client: &Client,
    settings: &Settings,
    args: &ProgramsArgs,
    reporter: &Reporter,
) -> Result<(), AppError> {
    let size = settings.page_size(args.page.page_size)?;
    let (programs, total) = program_page(client, args, size).await?;
    if reporter.mode() == Mode::Json {
        reporter.json_line(&Page {
            page: args.page.page,
            page_size: size,
            total,
            items: programs,
        });
        return Ok(());
    }
    let names = organization_names(client).await;
    let rows: Vec<Vec<String>> = programs
        .iter()
        .map(|p| {
            vec![
                p.program_id.to_string(),
                p.name.clone(),
                names
                    .get(&p.organization_id)
                    .cloned()
                    .unwrap_or_else(|| p.organization_id.to_string()),
                format!("{}s", p.input_lock_timeout),
                one_line(&p.description),
            ]
        })
        .collect();
    print_table(
        reporter,
        &["ID", "NAME", "ORGANIZATION", "LOCK", "DESCRIPTION"],
        &rows,
    );
    print_footer(reporter, "program", &args.page, size, total);
    Ok(())
}

/// The asked page of programs and the total that match, from the server's own paging where it
/// can filter.
async fn program_page(
    client: &Client,
    args: &ProgramsArgs,
    size: i64,
) -> Result<(Vec<Program>, i64), AppError> {
    let url = client.base_url().to_string();
    let organization = match &args.organization {
        Some(given) => Some(find_organization(client, given).await?),
        None => None,
    };
    match (organization, &args.name) {
        (None, name) => {
            let mut query = PageQuery::new(size, args.page.page);
            query.name_filter = name.clone();
            let page = client
                .all_programs(&query)
                .await
                .map_err(|e| app_error(e, &url))?;
            Ok((page.programs, page.total_elements_amount))
        }
        (Some(id), None) => {
            let page = client
                .organization_programs(id, &PageQuery::new(size, args.page.page))
                .await
                .map_err(|e| app_error(e, &url))?;
            Ok((page.programs, page.total_elements_amount))
        }
        (Some(id), Some(prefix)) => {
            let all = crate::server::programs(client, Some(id))
                .await
                .map_err(|e| app_error(e, &url))?;
            Ok(prefix_page(all, prefix, args.page.page, size))
        }
    }
}

/// The server filters by name or by organization, not both: an organization's programs are
/// filtered by name prefix and paged here.
fn prefix_page(all: Vec<Program>, prefix: &str, page: i64, size: i64) -> (Vec<Program>, i64) {
    let matching: Vec<Program> = all
        .into_iter()
        .filter(|p| p.name.starts_with(prefix))
        .collect();
    let total = matching.len() as i64;
    let start = ((page - 1) * size) as usize;
    let page = matching
        .into_iter()
        .skip(start)
        .take(size as usize)
        .collect();
    (page, total)
}

pub async fn organizations(
    client: &Client,
    settings: &Settings,
    args: &OrganizationsArgs,
    reporter: &Reporter,
) -> Result<(), AppError> {
    let size = settings.page_size(args.page.page_size)?;
    let mut query = PageQuery::new(size, args.page.page);
    query.name_filter = args.name.clone();
    let page = client
        .organizations(&query)
        .await
        .map_err(|e| app_error(e, client.base_url()))?;
    if reporter.mode() == Mode::Json {
        reporter.json_line(&Page {
            page: args.page.page,
            page_size: size,
            total: page.total_elements_amount,
            items: page.organizations,
        });
        return Ok(());
    }
    let rows: Vec<Vec<String>> = page
        .organizations
        .iter()
        .map(|o| {
            vec![
                o.organization_id.to_string(),
                o.name.clone(),
                one_line(&o.description),
            ]
        })
        .collect();
    print_table(reporter, &["ID", "NAME", "DESCRIPTION"], &rows);
    print_footer(
        reporter,
        "organization",
        &args.page,
        size,
        page.total_elements_amount,
    );
    Ok(())
}

/// Organization names by id, for display; empty if the listing fails (ids are shown instead).
async fn organization_names(client: &Client) -> HashMap<Uuid, String> {
    let all: Result<Vec<Organization>, distributor_api::ClientError> =
        distributor_api::cli::walk_pages(|query: PageQuery| {
            let client = client.clone();
            async move {
                let answer = client.organizations(&query).await?;
                Ok((answer.organizations, answer.total_elements_amount))
            }
        })
        .await;
    all.unwrap_or_default()
        .into_iter()
        .map(|o| (o.organization_id, o.name))
        .collect()
}

fn one_line(text: &str) -> String {
    const MAX: usize = 60;
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > MAX {
        let cut: String = flat.chars().take(MAX - 1).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

fn print_table(reporter: &Reporter, headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c.to_string()
                } else {
                    let pad = widths[i].saturating_sub(c.chars().count());
                    format!("{c}{}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    reporter.result_line(&line(headers.to_vec()));
    for row in rows {
        reporter.result_line(&line(row.iter().map(String::as_str).collect()));
    }
}

/// The line under the listing, and the `next:` hint (stderr) when there is a next page.
fn print_footer(reporter: &Reporter, what: &str, page: &PageArgs, size: i64, total: i64) {
    let footer = distributor_api::cli::footer(what, page.page, size, total);
    reporter.result_line(&footer.line);
    if let Some(next) = footer.next {
        reporter.next(&format!("the next page: {next}"));
    }
}
