INSERT INTO videos(id,path,key,status,updated_at,frames) VALUES(1,'a.mp4','k1','ok',0,9223372036854775807),(2,'b.mp4','k2','failed',0,9223372036854775807);
INSERT INTO frames VALUES(1,0,0,0.0,0.0,0,1,32,32,-1,'../../../../etc/passwd',NULL,NULL,0,NULL);
INSERT INTO frames VALUES(1,1,1,0.1,0.1,1,0,32,32,9223372036854775807,'catalog.db',1,'00',0,NULL);
INSERT INTO audio VALUES(2,'frames/k2/audio.wav',16000,1,0.2,NULL);
INSERT INTO shards VALUES('000000.tar',-1,-1);
INSERT INTO blobs VALUES('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855','/etc/hostname',NULL,-5);
