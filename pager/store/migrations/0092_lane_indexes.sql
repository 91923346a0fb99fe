-- Each lane of the engine reads an index of its own. The P2/P3 lane's "when is my next timer" and
-- its claims read incidents_due (every priority) and timers_due, filtering out P0/P1 rows one by
-- one: with tens of thousands of P0 incidents waiting on a 1 h ack timeout, every wake-up of the
-- lower lane walked all of them (half of PostgreSQL's time in `pager bench`'s page phase). The
-- P0/P1 lane already had incidents_due_urgent and timers_due_urgent; now the P2/P3 lane has the
-- mirror image, and the any-priority index (read by no claim) goes.

DROP INDEX incidents_due;
CREATE INDEX incidents_due_lower ON incidents (next_escalation_at)
    WHERE next_escalation_at IS NOT NULL AND status = 'triggered' AND priority >= 2;
DROP INDEX timers_due;
CREATE INDEX timers_due_lower ON timers (due_at) WHERE priority >= 2;
