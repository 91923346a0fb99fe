-- The per-contact throttle counts recent sends to an address; without this it scans every page ever sent.
CREATE INDEX notifications_recent ON notifications (channel, address, sent_at) WHERE sent_at IS NOT NULL;
