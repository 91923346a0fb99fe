-- An escalation can start over from step 1 (a maintenance window ended, an acknowledgement
-- expired): it does so in a new round, so its pages get outbox keys of their own, and the
-- policy's repeats count from that round, kept here.

ALTER TABLE incidents ADD COLUMN escalation_first_round integer NOT NULL DEFAULT 0;
