-- Issue 16 (more ways out): the table of numbers that replied STOP. (Its timeline kinds are added by
-- 0081, after 0080's union of other branches' kinds.)

-- A number that replied STOP gets no SMS until it replies START (Twilio refuses them anyway, 21610);
-- its pages fail at once and fall back to the person's other channels.
CREATE TABLE sms_opt_outs (
    phone           text PRIMARY KEY,
    keyword         text NOT NULL,
    at              timestamptz NOT NULL
);
