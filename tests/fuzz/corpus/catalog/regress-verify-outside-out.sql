INSERT INTO videos(id,path,key,status,updated_at) VALUES(1,'a.mp4','../../../..','ok',0);
INSERT INTO frames VALUES(1,0,0,0.0,0.0,0,1,32,32,0,'../../../../dev/stdin',NULL,NULL,0,NULL);
INSERT INTO frames VALUES(1,1,1,0.0,0.0,0,1,32,32,0,'/etc/hostname',NULL,NULL,0,NULL);
