INSERT INTO videos(id,path,key,status,updated_at,frames) VALUES(1,'a.mp4','k1','ok',0,9223372036854775807),(2,'b.mp4','k2','failed',0,9223372036854775807);
