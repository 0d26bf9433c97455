-- A message due to one channel about one event. Parameters: incident_id, event, channel, message (JSON text).
INSERT INTO ops.incident_notice (incident_id, event, channel, message)
VALUES (%(incident_id)s, %(event)s, %(channel)s, %(message)s::jsonb);
