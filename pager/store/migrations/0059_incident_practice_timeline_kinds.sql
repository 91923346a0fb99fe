-- The timeline kinds of running the incident (issue 12): stabilizing, relapsed, role_changed, status_update, update_overdue, stakeholders_notified.
--
-- Numbered after every other migration that sets incident_log_kind_check, and written as a union
-- with whatever list the constraint holds when it runs (appending the kinds it lacks), so the
-- constraint ends up with every kind whichever order databases apply the migrations in: a fresh
-- one applies 0053 (learning) before this; one already at 0053 applies 0020 and this together.
-- Issue 12's own range (0020-0029) sorts before 0053, which replaces the list with a fixed one.

DO $$
DECLARE
    v_kinds text[];
BEGIN
    SELECT array_agg(m.kind[1] ORDER BY m.ord) INTO v_kinds
      FROM pg_constraint c,
           regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') WITH ORDINALITY AS m(kind, ord)
     WHERE c.conname = 'incident_log_kind_check';
    SELECT v_kinds || array_agg(k ORDER BY o) INTO v_kinds
      FROM unnest(ARRAY['stabilizing', 'relapsed', 'role_changed', 'status_update', 'update_overdue', 'stakeholders_notified']) WITH ORDINALITY AS n(k, o)
     WHERE k <> ALL (v_kinds);
    ALTER TABLE incident_log DROP CONSTRAINT incident_log_kind_check;
    EXECUTE format('ALTER TABLE incident_log ADD CONSTRAINT incident_log_kind_check CHECK (kind IN (%s))',
                   (SELECT string_agg(quote_literal(k), ', ' ORDER BY o) FROM unnest(v_kinds) WITH ORDINALITY AS t(k, o)));
END
$$;
