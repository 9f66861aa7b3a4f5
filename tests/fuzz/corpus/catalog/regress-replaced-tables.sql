DROP TABLE frames; CREATE TABLE frames(video_id, seq, idx, target, time, pts, keyframe, width, height, bytes, location, offset, checksum, phash, dup_of);
INSERT INTO videos(id,path,key,status,updated_at) VALUES(7,X'FF00FE','x',X'C3',0);
INSERT INTO frames VALUES(7,'s',NULL,'t',X'00',NULL,NULL,NULL,NULL,'big',NULL,'o',NULL,NULL,NULL);
INSERT INTO frames VALUES(8,0,0,0,0,0,0,0,0,0,'frames',-9223372036854775808,NULL,NULL,NULL);
DROP TABLE audio; CREATE VIEW audio AS SELECT 7 AS video_id, NULL AS path, 1 AS rate, 1 AS channels, 1.0 AS duration, 1 AS bytes;
