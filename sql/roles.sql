-- Least privilege, PostgreSQL only; applied by warehouse.apply_roles() (idempotent). Rendered with
-- the role names ({{ analyst }}, {{ community_manager }}) and the database ({{ database }}).
-- Both roles are NOLOGIN groups: people log in as their own users, made members of one of them.
-- Default privileges are set for the role that runs this (the warehouse owner that runs the
-- migrations), so tables and views later migrations create are readable at once.

-- The roles, unless they exist (roles are cluster-wide; another database may have made them).
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{{ analyst }}') THEN CREATE ROLE {{ analyst }} NOLOGIN; END IF; END $$;
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{{ community_manager }}') THEN CREATE ROLE {{ community_manager }} NOLOGIN; END IF; END $$;

-- Nobody but the owner creates objects in the warehouse's schema (PostgreSQL 15 already revokes
-- this from PUBLIC; older servers granted it).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE {{ database }} TO {{ analyst }}, {{ community_manager }};
GRANT USAGE ON SCHEMA public TO {{ analyst }}, {{ community_manager }};

-- Analysts: read every table and view, now and later; nothing else.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {{ analyst }};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {{ analyst }};

-- Community managers: read everything, and change only what people own on a flag.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {{ community_manager }};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {{ community_manager }};
REVOKE UPDATE ON flags FROM {{ community_manager }};
GRANT UPDATE (status, assignee, note, status_changed_at, status_changed_by) ON flags
    TO {{ community_manager }};
-- Their changes are kept in flag_history (set_status writes it; they never edit or delete it).
GRANT INSERT ON flag_history TO {{ community_manager }};
