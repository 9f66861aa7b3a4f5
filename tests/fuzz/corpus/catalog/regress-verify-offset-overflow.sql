INSERT INTO videos(id,path,key,status,updated_at) VALUES(1,'a.mp4','k1','ok',0);
INSERT INTO frames VALUES(1,0,0,0.0,0.0,0,1,32,32,9223372036854775807,'catalog.db',1,'00',0,NULL);
