"""Table definitions shared by SQLite and PostgreSQL. Migrations create exactly these."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Text columns hold JSON (authors, categories, versions, sources) as compact strings so the
# same schema works unchanged on SQLite and PostgreSQL and bulk writes stay cheap.
papers = sa.Table(
    "papers",
    metadata,
    sa.Column("paper_id", sa.String(200), primary_key=True),
    sa.Column("id_kind", sa.String(10), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("title_key", sa.Text, nullable=False),
    sa.Column("abstract", sa.Text, nullable=False, server_default=""),
    sa.Column("authors", sa.Text, nullable=False, server_default="[]"),
    sa.Column("author_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("categories", sa.Text, nullable=False, server_default="[]"),
    sa.Column("primary_category", sa.String(40)),
    sa.Column("versions", sa.Text, nullable=False, server_default="[]"),
    sa.Column("latest_version", sa.Integer),
    sa.Column("published", sa.DateTime(timezone=True)),
    sa.Column("updated", sa.DateTime(timezone=True)),
    sa.Column("doi", sa.Text),
    sa.Column("journal_ref", sa.Text),
    sa.Column("comments", sa.Text),
    sa.Column("license", sa.Text),
    sa.Column("abs_url", sa.Text),
    sa.Column("pdf_url", sa.Text),
    sa.Column("code_url", sa.Text),
    sa.Column("project_url", sa.Text),
    sa.Column("sources", sa.Text, nullable=False, server_default="[]"),
    sa.Column("text_rank", sa.Integer, nullable=False, server_default="0"),
    sa.Column("upvotes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("comment_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("daily_date", sa.Date),
    sa.Column("submitted_by", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
    # Site columns (migration 0002). list_date is the day a paper is listed under: its
    # daily-list day, else its publication day. Local votes and comments are kept apart from
    # the counts imported from Hugging Face; score is their sum and hotness its trending value.
    sa.Column("list_date", sa.Date),
    sa.Column("local_votes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("local_comments", sa.Integer, nullable=False, server_default="0"),
    sa.Column("score", sa.Integer, nullable=False, server_default="0"),
    sa.Column("hotness", sa.Float, nullable=False, server_default="0"),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_papers_title_key", "title_key"),
    # Papers known only by title are few; records with ids look for them in this small index.
    sa.Index(
        "ix_papers_title_only",
        "title_key",
        sqlite_where=sa.text("id_kind = 'title'"),
        postgresql_where=sa.text("id_kind = 'title'"),
    ),
    sa.Index("ix_papers_published", "published"),
    sa.Index("ix_papers_daily_date", "daily_date"),
    sa.Index("ix_papers_modified_at", "modified_at"),
    # A day's list is read in this order straight from the index (migration 0003).
    sa.Index("ix_papers_list_order", "list_date", "hidden", "score", "published", "paper_id"),
    sa.Index("ix_papers_hotness", "hotness"),
)

paper_categories = sa.Table(
    "paper_categories",
    metadata,
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("category", sa.String(40), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index("ix_paper_categories_category", "category", "paper_id"),
)

harvest_checkpoints = sa.Table(
    "harvest_checkpoints",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(40), nullable=False),
    # Lower-cased username: "Alice" and "alice" are the same account name.
    sa.Column("username_key", sa.String(40), nullable=False, unique=True),
    sa.Column("email", sa.String(320)),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Account care (migration 0011). A disabled account cannot log in and has no sessions; a
    # deleted one stays as a placeholder named "[deleted]" (no address, no password) so that
    # its comments keep their place in threads.
    sa.Column("last_login_at", sa.DateTime(timezone=True)),
    sa.Column("disabled_at", sa.DateTime(timezone=True)),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    # Whether unread notifications go into the reader's digest (migration 0013; off until
    # they turn it on, on /notifications).
    sa.Column("notifications_in_digest", sa.Boolean, nullable=False, server_default=sa.false()),
)

user_sessions = sa.Table(
    "user_sessions",
    metadata,
    # Only a hash of the cookie's token is stored: a leaked database opens no sessions.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_user_sessions_user", "user_id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_api_tokens_user", "user_id"),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("failure_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_login_failures_key", "key", "failed_at"),
)

votes = sa.Table(
    "votes",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_votes_paper", "paper_id"),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("comment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("comments.comment_id", ondelete="CASCADE")),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("edited_at", sa.DateTime(timezone=True)),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_comments_paper", "paper_id", "comment_id"),
    sa.Index("ix_comments_user", "user_id"),
)

submissions = sa.Table(
    "submissions",
    metadata,
    # One row per paper: a paper is submitted to a day's list once.
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("list_date", sa.Date, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_submissions_user", "user_id"),
)

# -- inbox (migration 0004): subscriptions, reader marks, recommender models, the outbox ------

site_secrets = sa.Table(
    "site_secrets",
    metadata,
    # Keys that sign links (unsubscribe, confirm): made once and shared by every node.
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("subscription_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    # Lower-cased address: one subscription per mailbox.
    sa.Column("email_key", sa.String(320), nullable=False, unique=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.user_id", ondelete="SET NULL"),
        unique=True,
    ),
    # pending (waiting for the confirmation click), active, unsubscribed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("frequency", sa.String(10), nullable=False, server_default="daily"),
    sa.Column("skip_weekends", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("include_trending", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("include_for_you", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("send_empty", sa.Boolean, nullable=False, server_default=sa.false()),
    # JSON lists of strings, as on papers.
    sa.Column("categories", sa.Text, nullable=False, server_default="[]"),
    sa.Column("searches", sa.Text, nullable=False, server_default="[]"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("confirm_sent_at", sa.DateTime(timezone=True)),
    sa.Column("confirmed_at", sa.DateTime(timezone=True)),
    sa.Column("unsubscribed_at", sa.DateTime(timezone=True)),
    sa.Index("ix_subscriptions_status", "status", "subscription_id"),
)

paper_marks = sa.Table(
    "paper_marks",
    metadata,
    # One mark per (user, paper): "saved" (a positive for "For you") or "not_interested".
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("mark", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_paper_marks_user", "user_id", "mark"),
)

recommender_models = sa.Table(
    "recommender_models",
    metadata,
    # A reader's trained "For you" classifier: float32 weights (never pickled), retrained when
    # `feedback_stamp` (what the reader has marked) or the embedding model changes.
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("embedding_model", sa.String(100), nullable=False),
    sa.Column("feedback_stamp", sa.String(200), nullable=False),
    sa.Column("weights", sa.LargeBinary, nullable=False),
    sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    # Deterministic key: "digest:<subscription>:<period>" or "confirm:<subscription>:<n>". The
    # primary key is what makes building a digest twice (a rerun, two nodes) build it once.
    sa.Column("message_key", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    # A digest or confirmation belongs to a subscription; an account message (a password
    # reset, an address change, migration 0011) to a user instead.
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("subscriptions.subscription_id", ondelete="CASCADE"),
    ),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE")),
    sa.Column("period", sa.String(20)),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("headers", sa.Text, nullable=False, server_default="{}"),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False),
    sa.Column("paper_count", sa.Integer, nullable=False, server_default="0"),
    # pending, sending (claimed until lease_until), sent, failed, empty, cancelled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claim_token", sa.String(64)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
    sa.Index("ix_outbox_subscription", "subscription_id", "created_at"),
    sa.Index("ix_outbox_user", "user_id"),
)

sent_papers = sa.Table(
    "sent_papers",
    metadata,
    # Every paper put in a subscriber's digest: a paper is never sent to them twice.
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("subscriptions.subscription_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("message_key", sa.String(200), nullable=False),
)

# -- paper removals (migration 0006) ---------------------------------------------------------

paper_removals = sa.Table(
    "paper_removals",
    metadata,
    # Ids that left the store, for the search indexes (they follow `papers.modified_at` and
    # cannot see a row that is gone): a paper first known by its title, re-keyed to its arXiv
    # id, leaves its `title:...` id here in the same transaction. Rows are only added, a few a
    # day; the prune task deletes them after retention_days (store/maintenance.py).
    sa.Column("removal_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("paper_id", sa.String(200), nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_paper_removals_removed_at", "removed_at"),
)

# -- jobs (migration 0007): task runs, paper vectors shared by every node, the embedding backlog --

task_runs = sa.Table(
    "task_runs",
    metadata,
    # One row per (task, period): whoever inserts it runs the task for that period, so a task
    # runs once per period however many runners there are; a runner that dies is taken over
    # when its lease ends (at least once).
    sa.Column("task", sa.String(60), primary_key=True),
    sa.Column("scheduled_for", sa.DateTime(timezone=True), primary_key=True),
    # running, succeeded, failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("runner", sa.String(200), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("summary", sa.Text),  # what the run did, for people
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),  # JSON counts
    sa.Column("error", sa.Text),
    sa.Index("ix_task_runs_started", "task", "started_at"),
)

paper_vectors = sa.Table(
    "paper_vectors",
    metadata,
    # A paper's embedding by one model, computed once by whichever worker claimed it and read
    # by every node into its local vector index. `text_hash` says which text it embeds.
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("model", sa.String(100), primary_key=True),
    sa.Column("text_hash", sa.BigInteger, nullable=False),
    sa.Column("dimensions", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),  # float16, little-endian
    sa.Column("embedded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_paper_vectors_model_time", "model", "embedded_at"),
)

embedding_backlog = sa.Table(
    "embedding_backlog",
    metadata,
    # Papers whose current text may lack a vector, written in the transaction that changes the
    # text; an embedding worker claims a batch under a lease and deletes what it embedded.
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    # 1: on a daily list or upvoted (what people look at); 0: the rest. Newest first within.
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("list_date", sa.Date),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claim_token", sa.String(64)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Index("ix_embedding_backlog_order", "priority", "list_date"),
)

# -- pages (migration 0009): authors matched by a key -------------------------------------------

paper_authors = sa.Table(
    "paper_authors",
    metadata,
    # One row per author of a paper, in byline order, written with the paper's row. `name_key`
    # is `ids.author_key(name)` (accents, case and punctuation folded): author pages, co-authors
    # and follows read it; "A. Smith" and "Alice Smith" are different keys.
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_key", sa.String(300), nullable=False),  # ids.MAX_AUTHOR_KEY_CHARS
    sa.Index("ix_paper_authors_key", "name_key", "paper_id"),
)

# -- library (migration 0008): collections (named reading lists), their members and papers -----

collections = sa.Table(
    "collections",
    metadata,
    sa.Column("collection_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "owner_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(100), nullable=False),
    # Folded name: one owner has one collection of a name, whatever its case.
    sa.Column("name_key", sa.String(100), nullable=False),
    sa.Column("slug", sa.String(80), nullable=False),  # for URLs: /collections/12-reading-group
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    # private (members only), unlisted (anyone with the secret link), public (listed, a feed)
    sa.Column("visibility", sa.String(10), nullable=False, server_default="private"),
    # The unlisted link's key: 128 random bits, kept as given so the owner can be shown the link
    # again; compared in constant time. A new one can be drawn (the old link stops working).
    sa.Column("secret", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("owner_id", "name_key", name="uq_collections_owner_name"),
    sa.Index("ix_collections_public", "visibility", "updated_at"),
)

collection_members = sa.Table(
    "collection_members",
    metadata,
    # Who may change a collection: its owner (one row, role "owner") and the editors the owner
    # invited by name ("editor"). Follows and notifications can build on these rows.
    sa.Column(
        "collection_id",
        sa.Integer,
        sa.ForeignKey("collections.collection_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_collection_members_user", "user_id", "collection_id"),
)

collection_items = sa.Table(
    "collection_items",
    metadata,
    # A paper in a collection, once: re-adding or re-importing it adds nothing. A title-only
    # paper re-keyed to its arXiv id keeps its place (ON UPDATE CASCADE).
    sa.Column(
        "collection_id",
        sa.Integer,
        sa.ForeignKey("collections.collection_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("added_by", sa.Integer, sa.ForeignKey("users.user_id", ondelete="SET NULL")),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_collection_items_order", "collection_id", "position"),
    sa.Index("ix_collection_items_paper", "paper_id"),
)

# A library entry names its paper by DOI as often as by arXiv id; few papers carry one.
ix_papers_doi = sa.Index(
    "ix_papers_doi",
    papers.c.doi,
    sqlite_where=sa.text("doi IS NOT NULL"),
    postgresql_where=sa.text("doi IS NOT NULL"),
)

# -- trends (migration 0010): counts and topics the trends task precomputes ---------------------

trend_counts = sa.Table(
    "trend_counts",
    metadata,
    # Visible papers per list day and primary category ("" for papers without one), rebuilt
    # by the `trends` task (store/trends.py): /trends reads a few thousand of these rows
    # instead of grouping every paper of half a year.
    sa.Column("list_date", sa.Date, primary_key=True),
    sa.Column("category", sa.String(40), primary_key=True),
    sa.Column("papers", sa.Integer, nullable=False),
)

trend_snapshots = sa.Table(
    "trend_snapshots",
    metadata,
    # What the trends task computed, by name ("counts", "rising"), as compact JSON.
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
)

# -- account care (migration 0011): single-use tokens mailed for resets and address changes ----

account_tokens = sa.Table(
    "account_tokens",
    metadata,
    # A password-reset or address-change link's token: only its SHA-256 is stored, it works
    # once (`used_at`) and until `expires_at`. `new_email` is the address an email change
    # confirms; the account keeps its old address until then.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("purpose", sa.String(16), nullable=False),  # reset, email
    sa.Column("new_email", sa.String(320)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    sa.Index("ix_account_tokens_user", "user_id", "purpose", "created_at"),
)

# -- follows and notifications (migration 0012) -------------------------------------------------

follows = sa.Table(
    "follows",
    metadata,
    # What a reader follows, once: an author (`target` is the name key, ids.author_key), an
    # arXiv category (its code) or a public collection (its id, also in `collection_id` so the
    # follow goes when the collection does).
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("kind", sa.String(12), primary_key=True),  # author, category, collection
    sa.Column("target", sa.String(300), primary_key=True),
    sa.Column("label", sa.Text, nullable=False),  # the name as the reader saw it
    sa.Column(
        "collection_id",
        sa.Integer,
        sa.ForeignKey("collections.collection_id", ondelete="CASCADE"),
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_follows_target", "kind", "target"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    # Something for a reader to see once: a reply to their comment, a new paper by an author
    # they follow, a paper added to a collection they follow. `subject` names it uniquely per
    # reader ("reply:41", "author-paper:2412.00001", "collection-paper:12:2412.00001"), so
    # creating it twice stores one row.
    sa.Column("notification_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(20), nullable=False),  # reply, author_paper, collection_paper
    sa.Column("subject", sa.String(400), nullable=False),
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
    ),
    sa.Column("comment_id", sa.Integer, sa.ForeignKey("comments.comment_id", ondelete="CASCADE")),
    sa.Column(
        "collection_id",
        sa.Integer,
        sa.ForeignKey("collections.collection_id", ondelete="CASCADE"),
    ),
    sa.Column("author_key", sa.String(300)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("read_at", sa.DateTime(timezone=True)),
    # Put in a digest (migration 0013): set with the digest's outbox row, in its transaction,
    # so a notification is emailed at most once, and not lost to a build that did not commit.
    sa.Column("emailed_at", sa.DateTime(timezone=True)),
    sa.Column("emailed_key", sa.String(200)),  # the digest's outbox key
    sa.UniqueConstraint("user_id", "subject", name="uq_notifications_user_subject"),
    # The header's unread count is one COUNT over this index.
    sa.Index("ix_notifications_unread", "user_id", "read_at"),
    sa.Index("ix_notifications_user_time", "user_id", "created_at"),
)
