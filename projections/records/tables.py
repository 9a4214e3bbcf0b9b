"""The records view's tables, the columns a batch writes and the statements it writes with."""

NAME = "records"
TABLES = (
    "tb_rec_orgs",
    "tb_rec_org_tree",
    "tb_rec_volunteers",
    "tb_rec_activities",
    "tb_rec_campaigns",
    "tb_rec_sources",
    "tb_rec_member_minutes",
    "tb_rec_volunteer_minutes",
    "tb_rec_category_minutes",
    "tb_rec_personal_minutes",
    "tb_rec_disputes",
    "tb_rec_trainings",
    "tb_rec_training_attendance",
    "tb_rec_evaluations",
    "tb_rec_awards",
)

ORG_COLUMNS = ("id", "name", "kind", "parent_id", "population", "members")
TREE_COLUMNS = ("ancestor_id", "org_id")
VOLUNTEER_COLUMNS = (
    "id",
    "account_id",
    "number",
    "home_org_id",
    "party_member",
    "registered_on",
    "service_minutes",
)
ACTIVITY_COLUMNS = (
    "id",
    "org_id",
    "title",
    "category",
    "campaign",
    "service_date",
    "year",
    "month",
)
SOURCE_COLUMNS = (
    "id",
    "kind",
    "volunteer_id",
    "org_id",
    "activity_id",
    "title",
    "category",
    "campaign",
    "service_date",
    "home_org_id",
    "credited",
    "minutes",
    "credits",
    "original_minutes",
    "corrections",
    "credited_at",
)
ADD_MEMBERS = (
    "UPDATE tb_rec_orgs SET members = tb_rec_orgs.members + v.members "
    "FROM {rows} WHERE tb_rec_orgs.id = v.id"
)
MEMBERS_COLUMNS = (("id", "text"), ("members", "bigint"))
UPDATE_VOLUNTEERS = (
    "UPDATE tb_rec_volunteers SET home_org_id = v.home_org_id, "
    "service_minutes = tb_rec_volunteers.service_minutes + v.service_minutes "
    "FROM {rows} WHERE tb_rec_volunteers.id = v.id"
)
VOLUNTEER_CHANGES = (("id", "text"), ("home_org_id", "text"), ("service_minutes", "bigint"))
UPDATE_SOURCES = (
    "UPDATE tb_rec_sources SET home_org_id = v.home_org_id, credited = v.credited, "
    "minutes = v.minutes, credits = v.credits, original_minutes = v.original_minutes, "
    "corrections = v.corrections, credited_at = v.credited_at "
    "FROM {rows} WHERE tb_rec_sources.id = v.id"
)
SOURCE_CHANGES = (
    ("id", "text"),
    ("home_org_id", "text"),
    ("credited", "boolean"),
    ("minutes", "bigint"),
    ("credits", "bigint"),
    ("original_minutes", "bigint"),
    ("corrections", "bigint"),
    ("credited_at", "text"),
)
SPAN_CAMPAIGNS = (
    "INSERT INTO tb_rec_campaigns (name, first_date, last_date) "
    "SELECT name, first_date, last_date FROM {rows} WHERE true "
    "ON CONFLICT (name) DO UPDATE SET "
    "first_date = CASE WHEN excluded.first_date < tb_rec_campaigns.first_date "
    "THEN excluded.first_date ELSE tb_rec_campaigns.first_date END, "
    "last_date = CASE WHEN excluded.last_date > tb_rec_campaigns.last_date "
    "THEN excluded.last_date ELSE tb_rec_campaigns.last_date END"
)
CAMPAIGN_COLUMNS = (("name", "text"), ("first_date", "text"), ("last_date", "text"))
# Each total table by its key columns; a batch adds its sums to the stored rows.
TOTALS = {
    "tb_rec_member_minutes": ("org_id", "period"),
    "tb_rec_volunteer_minutes": ("org_id", "period", "volunteer_id"),
    "tb_rec_category_minutes": ("org_id", "period", "category"),
    "tb_rec_personal_minutes": ("volunteer_id", "period"),
}


def _add_minutes(table: str, keys: tuple[str, ...]) -> str:
    names = ", ".join(keys)
    return (
        f"INSERT INTO {table} ({names}, minutes) SELECT {names}, minutes FROM {{rows}} "
        f"WHERE true ON CONFLICT ({names}) "
        f"DO UPDATE SET minutes = {table}.minutes + excluded.minutes"
    )


ADD_MINUTES = {table: _add_minutes(table, keys) for table, keys in TOTALS.items()}
