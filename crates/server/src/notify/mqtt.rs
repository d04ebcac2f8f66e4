//! The MQTT notifier (rumqttc): one connection kept up by a task that polls the event
//! loop; a notice is published to `topic` with `{issuer}` replaced, and with QoS 1 the
//! next one waits for the broker's PUBACK.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ironpki_authority::notify::Notice;
use ironpki_config::MqttNotify;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

use super::Sink;

const ACK_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Mqtt {
    client: AsyncClient,
    topic: String,
    qos: QoS,
    acks: mpsc::UnboundedReceiver<u16>,
}

impl Mqtt {
    pub fn start(config: &MqttNotify) -> Result<Mqtt, String> {
        let (host, port) = ironpki_config::mqtt_endpoint(&config.url)?;
        // Each replica its own client id: a broker drops the older of two connections with one.
        let id = config.client_id.clone().unwrap_or_else(|| format!("ironpki-{}", crate::replica_id().replace(':', "-")));
        let mut options = MqttOptions::new(id, host, port);
        options.set_keep_alive(Duration::from_secs(30)).set_clean_session(true);
        let (client, mut eventloop) = AsyncClient::new(options, 16);
        let (tx, acks) = mpsc::unbounded_channel();
        let url = config.url.clone();
        tokio::spawn(async move {
            let mut connected = false;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        let _ = tx.send(ack.pkid);
                    }
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        connected = true;
                        tracing::info!(broker = %url, "MQTT notifier connected");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if connected {
                            tracing::warn!(broker = %url, error = %e, "MQTT notifier disconnected");
                        }
                        connected = false;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        let qos = if config.qos == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce };
        Ok(Mqtt { client, topic: config.topic.clone(), qos, acks })
    }
}

impl Sink for Mqtt {
    fn name(&self) -> &str {
        "mqtt"
    }

    fn deliver<'a>(&'a mut self, notice: &'a Notice, json: &'a [u8]) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            while self.acks.try_recv().is_ok() {}
            let topic = self.topic.replace("{issuer}", &notice.issuer);
            tokio::time::timeout(ACK_TIMEOUT, self.client.publish(topic, self.qos, false, json.to_vec()))
                .await
                .map_err(|_| "the MQTT connection is not taking messages".to_string())?
                .map_err(|e| e.to_string())?;
            if self.qos == QoS::AtMostOnce {
                return Ok(());
            }
            match tokio::time::timeout(ACK_TIMEOUT, self.acks.recv()).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err("the MQTT connection task ended".into()),
                Err(_) => Err(format!("no PUBACK from the broker within {}s", ACK_TIMEOUT.as_secs())),
            }
        })
    }
}
