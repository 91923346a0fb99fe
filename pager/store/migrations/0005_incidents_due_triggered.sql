-- The due-timer index holds exactly what the engine claims (triggered incidents with a timer), so
-- claim_due and next_due walk it in order whatever the planner's statistics say: right after a
-- burst, before autovacuum has analyzed, a stale row estimate for status = 'triggered' made the
-- planner AND it with incidents_status, reading every triggered incident on every tick.
DROP INDEX incidents_due;
CREATE INDEX incidents_due ON incidents (next_escalation_at) WHERE next_escalation_at IS NOT NULL AND status = 'triggered';
