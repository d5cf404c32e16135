#ifndef STREETSENSE_CMOSQUITTO_SHIM_H
#define STREETSENSE_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
