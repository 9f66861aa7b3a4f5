DROP TABLE audio; CREATE TABLE audio(video_id INTEGER PRIMARY KEY, path TEXT, rate, channels, duration, bytes);
INSERT INTO videos(id,path,key,status,updated_at) VALUES(1,'a.mp4','k1','ok',0);
INSERT INTO audio VALUES(1,NULL,16000,1,0.2,10);
